/**
 * Sorting a group's lines when each is held as its group's anchor line up to `head` bytes, then a
 * tail of its own (line-sort.ts says why). Lines are ordered by numeric keys packed from a few
 * bytes at a time and sorted natively, then ranges sharing a key by the next bytes: a line is
 * read about once, not once per comparison, and never from its shared head (route lines of a full
 * table share some two hundred bytes).
 *
 * Where a line leaves its anchor decides most of the order: a line that goes below the anchor at
 * byte h sorts before every line sharing more of it, one that goes above sorts after them. So the
 * first key is (below, h) ascending, then the anchor itself, then (above, h) descending, then the
 * tail's bytes; ties within it go on to the tail's next bytes.
 */
import { NL, RANK } from "./line-order.ts";

/** key bits after the index: 22 bits of index leave 42 */
export const MAX_RANGE = 1 << 22;
const IDX = MAX_RANGE - 1;
/** ranges this small are sorted by comparisons */
const SMALL = 24;

let keys = new BigUint64Array(1024);
let kw = new Uint32Array(keys.buffer);
let tmpS = new Uint32Array(1024);
let tmpH = new Uint32Array(1024);

function room(n: number): void {
  if (keys.length >= n) return;
  let m = keys.length;
  while (m < n) m *= 2;
  keys = new BigUint64Array(m);
  kw = new Uint32Array(keys.buffer);
  tmpS = new Uint32Array(m);
  tmpH = new Uint32Array(m);
}

/** the byte's rank at u[p], or 0 once the line has ended (at or after its newline) */
function rank(u: Uint8Array, p: number, ended: boolean): number {
  return ended ? 0 : RANK[u[p]!]!;
}

/** Sort lines s[0..n) (tail starts in u) with heads h[0..n) against `anchor`. */
export function sortGroup(u: Uint8Array, s: Uint32Array, h: Uint32Array, n: number, anchor: Uint8Array): void {
  if (n < 2) return;
  room(n);
  const alen = anchor.length;
  let wide = false;
  for (let i = 0; i < n; i++) {
    const head = h[i]!;
    const p = s[i]!;
    const c0 = RANK[u[p]!]!;
    const a = head < alen ? RANK[anchor[head]!]! : RANK[NL]!;
    const side = c0 < a ? 0 : c0 > a ? 2 : 1;
    if (head > 0xfffe) wide = true;
    const hk = side === 0 ? head : side === 2 ? 0xffff - head : 0;
    let e = c0 === RANK[NL];
    const c1 = rank(u, p + 1, e);
    e = e || c1 === RANK[NL];
    const c2 = rank(u, p + 2, e);
    kw[2 * i + 1] = ((side << 30) | (hk << 14) | (c0 << 6) | (c1 >>> 2)) >>> 0;
    kw[2 * i] = (((c1 & 3) << 30) | (c2 << 22) | i) >>> 0;
  }
  if (wide || n > MAX_RANGE) {
    byComparison(u, s, h, 0, n, anchor);
    return;
  }
  keys.subarray(0, n).sort();
  permute(s, h, 0, n);
  forEachTie(u, s, h, 0, n, 3, (lo, hi) => sortTails(u, s, h, lo, hi, 3));
}

/** reorders s and h in [lo, hi) by the sorted keys' indexes */
function permute(s: Uint32Array, h: Uint32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    const j = lo + (kw[2 * i]! & IDX);
    tmpS[i] = s[j]!;
    tmpH[i] = h[j]!;
  }
  for (let i = lo; i < hi; i++) {
    s[i] = tmpS[i]!;
    h[i] = tmpH[i]!;
  }
}

/**
 * Each range of lines whose keys are equal and whose first `t` tail bytes hold no newline (lines
 * that ended inside the key are equal) goes to `more`.
 */
function forEachTie(u: Uint8Array, s: Uint32Array, _h: Uint32Array, lo: number, hi: number, t: number,
  more: (lo: number, hi: number) => void): void {
  let i = lo;
  while (i < hi) {
    const k1 = kw[2 * i + 1]!, k0 = kw[2 * i]! >>> 22;
    let j = i + 1;
    while (j < hi && kw[2 * j + 1] === k1 && kw[2 * j]! >>> 22 === k0) j++;
    if (j - i > 1) {
      const p = s[i]!;
      const nl = u.indexOf(NL, p);
      if (nl - p >= t) more(i, j);
    }
    i = j;
  }
}

/** Lines in [lo, hi) share their head and their tails' first t bytes: order them by what follows. */
function sortTails(u: Uint8Array, s: Uint32Array, h: Uint32Array, lo: number, hi: number, t: number): void {
  if (hi - lo <= SMALL) {
    insertion(u, s, h, lo, hi, t);
    return;
  }
  // skip what every tail in the range shares
  const a = s[lo]! + t;
  let l = u.indexOf(NL, a) - a;
  for (let i = lo + 1; i < hi && l > 0; i++) {
    const b = s[i]! + t;
    let k = 0;
    while (k < l && u[a + k] === u[b + k]) k++;
    l = k;
  }
  t += l;
  for (let i = lo; i < hi; i++) {
    const p = s[i]! + t;
    const c0 = RANK[u[p]!]!;
    let e = c0 === RANK[NL];
    const c1 = rank(u, p + 1, e);
    e = e || c1 === RANK[NL];
    const c2 = rank(u, p + 2, e);
    e = e || c2 === RANK[NL];
    const c3 = rank(u, p + 3, e);
    e = e || c3 === RANK[NL];
    const c4 = rank(u, p + 4, e);
    kw[2 * i + 1] = ((c0 << 24) | (c1 << 16) | (c2 << 8) | c3) >>> 0;
    kw[2 * i] = ((c4 << 22) | (i - lo)) >>> 0;
  }
  keys.subarray(lo, hi).sort();
  permute(s, h, lo, hi);
  forEachTie(u, s, h, lo, hi, t + 5, (a2, b2) => sortTails(u, s, h, a2, b2, t + 5));
}

/** -1, 0 or 1: the tails at a and b from byte t on (both after the same head) */
function compareTails(u: Uint8Array, a: number, b: number): number {
  for (;;) {
    const x = u[a++]!, y = u[b++]!;
    if (x !== y) return RANK[x]! < RANK[y]! ? -1 : 1;
    if (x === NL) return 0;
  }
}

function insertion(u: Uint8Array, s: Uint32Array, h: Uint32Array, lo: number, hi: number, t: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const x = s[i]!, hx = h[i]!;
    let j = i - 1;
    while (j >= lo && compareTails(u, s[j]! + t, x + t) > 0) {
      s[j + 1] = s[j]!;
      h[j + 1] = h[j]!;
      j--;
    }
    s[j + 1] = x;
    h[j + 1] = hx;
  }
}

/** The byte at i of the line (anchor up to head, then tail), as a rank; NL's rank past its end. */
function byteAt(u: Uint8Array, anchor: Uint8Array, start: number, head: number, i: number): number {
  return i < head ? RANK[anchor[i]!]! : RANK[u[start + i - head]!]!;
}

/** Whole lines compared byte by byte: for heads too long to pack into a key. */
export function compareLinesAt(u: Uint8Array, anchor: Uint8Array, sa: number, ha: number, sb: number, hb: number): number {
  const nl = RANK[NL]!;
  for (let i = 0; ; i++) {
    const x = byteAt(u, anchor, sa, ha, i), y = byteAt(u, anchor, sb, hb, i);
    if (x !== y) return x < y ? -1 : 1;
    if (x === nl && i >= ha) return 0;
  }
}

function byComparison(u: Uint8Array, s: Uint32Array, h: Uint32Array, lo: number, hi: number, anchor: Uint8Array): void {
  const idx = Array.from({ length: hi - lo }, (_, i) => lo + i);
  idx.sort((a, b) => compareLinesAt(u, anchor, s[a]!, h[a]!, s[b]!, h[b]!));
  const ns = idx.map((i) => s[i]!), nh = idx.map((i) => h[i]!);
  for (let i = lo; i < hi; i++) {
    s[i] = ns[i - lo]!;
    h[i] = nh[i - lo]!;
  }
}

/** what sorting a run goes through (cli/one-shot.ts) */
export const HOT = [sortGroup, sortTails, insertion, compareTails, permute, forEachTie, rank];
