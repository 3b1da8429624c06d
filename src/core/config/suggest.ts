/** "Did you mean ...?" for misspelt keys. */

/** Edit distance where swapping two adjacent letters counts as one edit (optimal string alignment). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

function snake(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();
}

/** The closest candidate, or undefined when nothing is plausibly what was meant. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const norm = snake(input);
  const exact = candidates.find((c) => c === norm || c.toLowerCase() === input.toLowerCase());
  if (exact) return exact;
  let best: string | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = Math.min(levenshtein(norm, c), levenshtein(input.toLowerCase(), c.toLowerCase()));
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(norm.length, best.length) / 3));
  if (bestDist <= limit) return best;
  // a prefix or suffix of the real name (`lease` for `lease_seconds`, `port` for `embedded_port`)
  if (norm.length >= 4) {
    const part = candidates.filter((c) => c.startsWith(norm) || c.endsWith(norm));
    if (part.length === 1) return part[0];
  }
  return undefined;
}
