/**
 * OpenSSH known_hosts: parsing, host lookup and fingerprints (as `ssh-keygen -l` prints them).
 * Supports plain and hashed (`|1|salt|hash`) host fields, pattern lists with `*`/`?` and `!`
 * negation, `[host]:port` for non-standard ports, and the `@revoked` marker. `@cert-authority`
 * lines are ignored (certificates are not supported).
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  hosts: string; // the host field as written
  type: string; // key type from the line, e.g. ssh-ed25519
  key: Buffer; // the decoded key blob
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') {
      marker = parts[0] === '@revoked' ? 'revoked' : 'cert-authority';
      parts.shift();
    }
    const [hosts, type, b64] = parts;
    if (!hosts || !type || !b64) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length < 8) continue;
    out.push({ hosts, type, key, ...(marker ? { marker } : {}) });
  }
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const esc = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (!p) continue;
    if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(name)) return false;
    } else if (globToRegExp(p).test(name)) {
      matched = true;
    }
  }
  return matched;
}

/** Keys known for host:port, and keys revoked anywhere. */
export function lookupHost(
  entries: KnownHostEntry[],
  host: string,
  port: number,
): { keys: KnownHostEntry[]; revoked: KnownHostEntry[] } {
  const name = knownHostsName(host, port);
  const keys: KnownHostEntry[] = [];
  const revoked: KnownHostEntry[] = [];
  for (const e of entries) {
    if (e.marker === 'revoked') {
      if (hostFieldMatches(e.hosts, name)) revoked.push(e);
      continue;
    }
    if (e.marker === 'cert-authority') continue;
    if (hostFieldMatches(e.hosts, name)) keys.push(e);
  }
  return { keys, revoked };
}

/** `SHA256:<base64 without padding>` of a key blob, as OpenSSH prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (first length-prefixed string). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len <= 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Host key algorithms to offer so that negotiation picks a key type that known_hosts has. */
export function hostKeyAlgorithms(keys: KnownHostEntry[]): string[] {
  const out: string[] = [];
  const add = (...a: string[]) => {
    for (const x of a) if (!out.includes(x)) out.push(x);
  };
  for (const k of keys) {
    const t = blobKeyType(k.key) ?? k.type;
    if (t === 'ssh-rsa') add('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (t === 'ssh-ed25519' || t.startsWith('ecdsa-sha2-')) add(t);
  }
  return out;
}
