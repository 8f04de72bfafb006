/**
 * Sorting a group's held lines (line-sort.ts says how a line is held: its group's anchor up to
 * `head` bytes, then bytes of its own, then a trail held by reference). Lines are ordered by
 * numeric keys packed from a few bytes at a time and sorted natively, then ranges sharing a key by
 * the next bytes: a line is read about once, not once per comparison, and never its shared head.
 *
 * Where a line leaves its anchor decides most of the order: a line that goes below the anchor at
 * byte h sorts before every line sharing more of it, one that goes above sorts after them. So the
 * first key is (below, h) ascending, then the anchor itself, then (above, h) descending, then the
 * line's own bytes; ties go on to the next bytes.
 */
import { NL, RANK } from "./line-order.ts";

/** key bits after the index: 22 bits of index leave 42 */
export const MAX_RANGE = 1 << 22;
const IDX = MAX_RANGE - 1;
/** ranges this small are sorted by comparisons */
const SMALL = 24;
const NLR = RANK[NL]!;

/** A group's held lines: byte i of line k's own part is u[s[k] + i] below e[k], then trails[tr[k]]. */
export interface Held {
  u: Uint8Array;
  s: Uint32Array;
  e: Uint32Array;
  h: Uint32Array;
  tr: Uint32Array;
  trails: Uint8Array[];
  /** each trail's place in the order of the trails' texts (equal texts, equal places) */
  trailRank: Uint32Array;
  anchor: Uint8Array;
}

/** Each trail's place among them all in byte order (RANK), a shorter one before what extends it. */
export function rankTrails(trails: readonly Uint8Array[]): Uint32Array {
  const cmp = (a: Uint8Array, b: Uint8Array) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return RANK[a[i]!]! < RANK[b[i]!]! ? -1 : 1;
    return a.length - b.length;
  };
  const order = trails.map((_, i) => i).sort((x, y) => cmp(trails[x]!, trails[y]!));
  const rank = new Uint32Array(trails.length);
  let r = 0;
  for (let k = 0; k < order.length; k++) {
    if (k > 0 && cmp(trails[order[k - 1]!]!, trails[order[k]!]!) !== 0) r++;
    rank[order[k]!] = r;
  }
  return rank;
}

let keys = new BigUint64Array(1024);
let kw = new Uint32Array(keys.buffer);
let tmp = new Uint32Array(4096);

function room(n: number): void {
  if (keys.length < n) {
    let m = keys.length;
    while (m < n) m *= 2;
    keys = new BigUint64Array(m);
    kw = new Uint32Array(keys.buffer);
  }
  if (tmp.length < 4 * n) tmp = new Uint32Array(4 * keys.length);
}

/** the rank of byte k past line i's head: its own bytes, then its trail, then NL's rank, then 0 */
function rankAt(g: Held, i: number, k: number): number {
  const p = g.s[i]! + k;
  const end = g.e[i]!;
  if (p < end) return RANK[g.u[p]!]!;
  const t = g.trails[g.tr[i]!]!;
  const j = p - end;
  return j < t.length ? RANK[t[j]!]! : j === t.length ? NLR : 0;
}

/** bytes past line i's head, to its end */
function restLength(g: Held, i: number): number {
  return g.e[i]! - g.s[i]! + g.trails[g.tr[i]!]!.length;
}

/** Sort the group's n lines in place. */
export function sortGroup(g: Held, n: number): void {
  if (n < 2) return;
  room(n);
  const { h, anchor } = g;
  const alen = anchor.length;
  let wide = false;
  const { u, s, e } = g;
  for (let i = 0; i < n; i++) {
    const head = h[i]!;
    const p = s[i]!;
    let c0: number, c1: number, c2: number;
    // most lines have their first bytes past the head in their own part
    if (p + 3 <= e[i]!) {
      c0 = RANK[u[p]!]!;
      c1 = RANK[u[p + 1]!]!;
      c2 = RANK[u[p + 2]!]!;
    } else {
      c0 = rankAt(g, i, 0);
      c1 = c0 === NLR ? 0 : rankAt(g, i, 1);
      c2 = c1 === NLR || c1 === 0 ? 0 : rankAt(g, i, 2);
    }
    const a = head < alen ? RANK[anchor[head]!]! : NLR;
    const side = c0 < a ? 0 : c0 > a ? 2 : 1;
    if (head > 0xfffe) wide = true;
    const hk = side === 0 ? head : side === 2 ? 0xffff - head : 0;
    kw[2 * i + 1] = ((side << 30) | (hk << 14) | (c0 << 6) | (c1 >>> 2)) >>> 0;
    kw[2 * i] = (((c1 & 3) << 30) | (c2 << 22) | i) >>> 0;
  }
  if (wide || n > MAX_RANGE) {
    byComparison(g, 0, n);
    return;
  }
  keys.subarray(0, n).sort();
  permute(g, 0, n);
  ties(g, 0, n, 3);
}

/** reorders the lines in [lo, hi) by the sorted keys' indexes */
function permute(g: Held, lo: number, hi: number): void {
  const { s, e, h, tr } = g;
  const n = hi - lo;
  for (let i = 0; i < n; i++) {
    const j = lo + (kw[2 * (lo + i)]! & IDX);
    tmp[i] = s[j]!;
    tmp[n + i] = e[j]!;
    tmp[2 * n + i] = h[j]!;
    tmp[3 * n + i] = tr[j]!;
  }
  for (let i = 0; i < n; i++) {
    s[lo + i] = tmp[i]!;
    e[lo + i] = tmp[n + i]!;
    h[lo + i] = tmp[2 * n + i]!;
    tr[lo + i] = tmp[3 * n + i]!;
  }
}

/** Each range whose keys are equal goes on to the bytes after the first t, unless its lines ended inside the key (then they are equal). */
function ties(g: Held, lo: number, hi: number, t: number): void {
  let i = lo;
  while (i < hi) {
    const k1 = kw[2 * i + 1]!, k0 = kw[2 * i]! >>> 22;
    let j = i + 1;
    while (j < hi && kw[2 * j + 1] === k1 && kw[2 * j]! >>> 22 === k0) j++;
    if (j - i > 1 && restLength(g, i) >= t) sortRest(g, i, j, t);
    i = j;
  }
}

/** Lines in [lo, hi) share their head and their first t bytes past it: order them by what follows. */
function sortRest(g: Held, lo: number, hi: number, t: number): void {
  if (hi - lo <= SMALL) {
    insertion(g, lo, hi, t);
    return;
  }
  const { u, s, e } = g;
  // skip what every line in the range shares: in their own parts directly, then byte by byte
  let l = restLength(g, lo) - t;
  const pa = s[lo]! + t;
  const ownA = e[lo]! - pa;
  for (let i = lo + 1; i < hi && l > 0; i++) {
    const pb = s[i]! + t;
    const direct = Math.min(l, ownA, e[i]! - pb);
    let k = 0;
    while (k < direct && u[pa + k] === u[pb + k]) k++;
    if (k === direct) while (k < l && rankAt(g, lo, t + k) === rankAt(g, i, t + k)) k++;
    l = k;
  }
  t += l;
  for (let i = lo; i < hi; i++) {
    const p = s[i]! + t;
    let c0: number, c1: number, c2: number, c3: number, c4: number;
    if (p + 5 <= e[i]!) {
      c0 = RANK[u[p]!]!;
      c1 = RANK[u[p + 1]!]!;
      c2 = RANK[u[p + 2]!]!;
      c3 = RANK[u[p + 3]!]!;
      c4 = RANK[u[p + 4]!]!;
    } else {
      c0 = rankAt(g, i, t);
      c1 = c0 === NLR ? 0 : rankAt(g, i, t + 1);
      c2 = c1 === NLR || c1 === 0 ? 0 : rankAt(g, i, t + 2);
      c3 = c2 === NLR || c2 === 0 ? 0 : rankAt(g, i, t + 3);
      c4 = c3 === NLR || c3 === 0 ? 0 : rankAt(g, i, t + 4);
    }
    kw[2 * i + 1] = ((c0 << 24) | (c1 << 16) | (c2 << 8) | c3) >>> 0;
    kw[2 * i] = ((c4 << 22) | (i - lo)) >>> 0;
  }
  keys.subarray(lo, hi).sort();
  permute(g, lo, hi);
  ties(g, lo, hi, t + 5);
}

/** -1, 0 or 1: lines i and j from byte t past their (equal) heads */
function compareRest(g: Held, i: number, j: number, t: number): number {
  const { u, s, e, tr } = g;
  const pi = s[i]!, pj = s[j]!;
  const oi = e[i]! - pi, oj = e[j]! - pj;
  // their own parts, directly, as far as both go
  const both = oi < oj ? oi : oj;
  let k = t;
  for (; k < both; k++) {
    const x = u[pi + k]!, y = u[pj + k]!;
    if (x !== y) return RANK[x]! < RANK[y]! ? -1 : 1;
  }
  if (oi === oj) {
    // equal so far and of one length: what is left of each line is its trail
    const a = g.trailRank[tr[i]!]!, b = g.trailRank[tr[j]!]!;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  for (; ; k++) {
    const x = rankAt(g, i, k), y = rankAt(g, j, k);
    if (x !== y) return x < y ? -1 : 1;
    if (x === NLR) return 0;
  }
}

function insertion(g: Held, lo: number, hi: number, t: number): void {
  const { s, e, h, tr } = g;
  for (let i = lo + 1; i < hi; i++) {
    let j = i;
    // swap the new line down while the one before sorts after it
    while (j > lo && compareRest(g, j - 1, j, t) > 0) {
      let x = s[j]!; s[j] = s[j - 1]!; s[j - 1] = x;
      x = e[j]!; e[j] = e[j - 1]!; e[j - 1] = x;
      x = h[j]!; h[j] = h[j - 1]!; h[j - 1] = x;
      x = tr[j]!; tr[j] = tr[j - 1]!; tr[j - 1] = x;
      j--;
    }
  }
}

/** the rank of byte k of line i, head included */
function lineRank(g: Held, i: number, k: number): number {
  const head = g.h[i]!;
  return k < head ? RANK[g.anchor[k]!]! : rankAt(g, i, k - head);
}

/** Whole lines compared byte by byte: for heads too long to pack into a key. */
function compareLines(g: Held, i: number, j: number): number {
  for (let k = 0; ; k++) {
    const x = lineRank(g, i, k), y = lineRank(g, j, k);
    if (x !== y) return x < y ? -1 : 1;
    if (x === NLR) return 0;
  }
}

function byComparison(g: Held, lo: number, hi: number): void {
  const idx = Array.from({ length: hi - lo }, (_, i) => lo + i);
  idx.sort((a, b) => compareLines(g, a, b));
  const { s, e, h, tr } = g;
  const cols = [s, e, h, tr].map((c) => idx.map((i) => c[i]!));
  for (let i = lo; i < hi; i++) {
    s[i] = cols[0]![i - lo]!;
    e[i] = cols[1]![i - lo]!;
    h[i] = cols[2]![i - lo]!;
    tr[i] = cols[3]![i - lo]!;
  }
}

/** what sorting a run goes through (cli/one-shot.ts) */
export const HOT = [sortGroup, sortRest, insertion, compareRest, permute, ties, rankAt, restLength];
