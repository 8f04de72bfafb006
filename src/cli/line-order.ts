/**
 * The order of --dump-events' lines as bytes (line-sort.ts says why it equals JS string order):
 * the comparisons the merge of sorted runs makes.
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

/** Bytes readable past the end of the lines in a buffer, for compareLines. */
export const SLACK = 4;
