/**
 * Environment overlay merge: mappings merge recursively, sequences and scalars replace, and an explicit
 * `null` in the overlay deletes the key. Nodes keep their origin, so after the merge every value still
 * knows whether it came from the base file or from the overlay.
 */
import type { MapEntry, SNode } from './source.ts';

function isNull(node: SNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

export function mergeNodes(base: SNode | null, overlay: SNode | null): SNode | null {
  if (overlay === null) return base;
  if (base === null) return stripNulls(overlay);
  if (base.kind !== 'map' || overlay.kind !== 'map') return stripNulls(overlay);
  const entries = new Map<string, MapEntry>(base.entries);
  for (const [key, o] of overlay.entries) {
    if (isNull(o.node)) {
      entries.delete(key);
      continue;
    }
    const b = entries.get(key);
    if (b && b.node.kind === 'map' && o.node.kind === 'map') {
      entries.set(key, { keyOrigin: b.keyOrigin, node: mergeNodes(b.node, o.node) as SNode });
    } else {
      entries.set(key, { keyOrigin: o.keyOrigin, node: stripNulls(o.node) });
    }
  }
  return { kind: 'map', origin: base.origin, entries };
}

/** Null in an overlay means "delete"; where there is nothing to delete it simply leaves the key out. */
function stripNulls(node: SNode): SNode {
  if (node.kind !== 'map') return node;
  const entries = new Map<string, MapEntry>();
  for (const [k, e] of node.entries) {
    if (!isNull(e.node)) entries.set(k, { keyOrigin: e.keyOrigin, node: stripNulls(e.node) });
  }
  return { ...node, entries };
}
