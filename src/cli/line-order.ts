/**
 * The order of --dump-events' lines as bytes (line-sort.ts says why it equals JS string order):
 * comparisons, and the radix sorts that order a run's line starts in place.
 */
export const NL = 0x0a;
export const RANK = new Uint16Array(256);
for (let b = 0; b < 256; b++) RANK[b] = b;
RANK[0xee] = 0xf5;
RANK[0xef] = 0xf6;

/** -1, 0 or 1 as a's line (at ia in a) sorts before, with or after b's (at ib in b), byte by byte */
export function compareBytes(a: Uint8Array, ia: number, b: Uint8Array, ib: number): number {
  for (;;) {
    const x = a[ia++]!;
    const y = b[ib++]!;
    if (x !== y) return RANK[x]! < RANK[y]! ? -1 : 1;
    if (x === NL) return 0;
  }
}

/** whether any of the word's four bytes is a newline */
export function hasNewline(w: number): boolean {
  const x = w ^ 0x0a0a0a0a;
  return ((x - 0x01010101) & ~x & 0x80808080) !== 0;
}

/**
 * As compareBytes, four bytes at a time while they are equal (lines of one type share about two
 * hundred). Reads up to three bytes past a line's newline: buffers keep that much to spare.
 */
export function compareLines(a: DataView, ia: number, b: DataView, ib: number, ua: Uint8Array, ub: Uint8Array): number {
  for (;;) {
    const x = a.getUint32(ia);
    if (x !== b.getUint32(ib)) return compareBytes(ua, ia, ub, ib);
    if (hasNewline(x)) return 0;
    ia += 4;
    ib += 4;
  }
}

/**
 * How many bytes the lines at ia in a and ib in b share, newline excluded. Every line sorted
 * between two lines shares what they share, so a merge of sorted runs can start comparing there.
 */
export function sharedPrefix(a: Uint8Array, ia: number, b: Uint8Array, ib: number): number {
  let n = 0;
  for (;;) {
    const x = a[ia + n]!;
    if (x !== b[ib + n] || x === NL) return n;
    n++;
  }
}

/** Bytes readable past the end of the lines in a buffer, for compareLines and sortWords. */
export const SLACK = 4;

/**
 * Multikey quicksort (Bentley and Sedgewick) of line starts: a byte shared by all lines of a
 * partition is looked at once per line, not once per comparison. Over words of four bytes (big
 * endian, so they order as their bytes do) when the lines are ASCII, which RANK leaves alone.
 */
export function sortWords(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const a = dv.getUint32(s[lo]! + d), b = dv.getUint32(s[mid]! + d), c = dv.getUint32(s[hi - 1]! + d);
    const v = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
    let lt = lo, i = lo, gt = hi - 1;
    while (i <= gt) {
      const k = dv.getUint32(s[i]! + d);
      if (k < v) {
        const t = s[lt]!; s[lt++] = s[i]!; s[i++] = t;
      } else if (k > v) {
        const t = s[gt]!; s[gt--] = s[i]!; s[i] = t;
      } else i++;
    }
    // equal words holding a newline end equal lines
    const deeper = !hasNewline(v);
    if (lt === lo && gt === hi - 1) {
      if (!deeper) return;
      d += 4;
      continue;
    }
    if (deeper && gt + 1 - lt > 1) sortWords(dv, u, s, lt, gt + 1, d + 4);
    if (lt - lo > 1) sortWords(dv, u, s, lo, lt, d);
    lo = gt + 1;
  }
  insertion(dv, u, s, lo, hi, d);
}

/** The same over single bytes through RANK, for runs holding non-ASCII lines. */
export function sortBytes(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const a = RANK[u[s[lo]! + d]!]!, b = RANK[u[s[mid]! + d]!]!, c = RANK[u[s[hi - 1]! + d]!]!;
    const v = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
    let lt = lo, i = lo, gt = hi - 1;
    while (i <= gt) {
      const k = RANK[u[s[i]! + d]!]!;
      if (k < v) {
        const t = s[lt]!; s[lt++] = s[i]!; s[i++] = t;
      } else if (k > v) {
        const t = s[gt]!; s[gt--] = s[i]!; s[i] = t;
      } else i++;
    }
    const deeper = v !== RANK[NL];
    if (lt === lo && gt === hi - 1) {
      if (!deeper) return;
      d++;
      continue;
    }
    if (deeper && gt + 1 - lt > 1) sortBytes(dv, u, s, lt, gt + 1, d + 1);
    if (lt - lo > 1) sortBytes(dv, u, s, lo, lt, d);
    lo = gt + 1;
  }
  insertion(dv, u, s, lo, hi, d);
}

export function insertion(dv: DataView, u: Uint8Array, s: Uint32Array, lo: number, hi: number, d: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const x = s[i]!;
    let j = i - 1;
    while (j >= lo && compareLines(dv, s[j]! + d, dv, x + d, u, u) > 0) {
      s[j + 1] = s[j]!;
      j--;
    }
    s[j + 1] = x;
  }
}
