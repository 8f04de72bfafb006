/**
 * "Did you mean": the candidate nearest to a mistyped word, for filters and config keys alike
 * (case, "-" and "_" ignored; at most a third of the letters wrong). It lives beside the filter
 * because config/ imports filter/, not the other way round.
 */

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_ ]/g, "");
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const n = norm(c);
    // cheap bound first: thousands of constant names are compared on one mistake
    if (Math.abs(n.length - w.length) >= bestD) continue;
    const d = c === word ? 0 : n === w ? 0.5 : editDistance(w, n);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(w.length, norm(best).length) / 3));
  return bestD <= limit ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions counted as one edit (common in typos). */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      row.push(v);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}
