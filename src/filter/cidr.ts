/**
 * Address prefixes for `in 10.0.0.0/8`: a field's text ("10.1.0.0/16", "2001:db8::1") is inside a
 * prefix when its own whole prefix is, so a route to 10.0.0.0/7 is not inside 10.0.0.0/8 although
 * its first address is. An address without "/len" is one host (/32, /128).
 *
 * Field values are read on every event, so IPv4 is scanned by character codes into module-level
 * scratch, with no string or array made; IPv6 goes through the general parser.
 */

/** A prefix: IPv4 as one 32-bit word, IPv6 as four, most significant first. */
export interface Prefix {
  v6: boolean;
  words: number[];
  len: number;
}

/** A literal the filter spells out, or what is wrong with it. */
export function parsePrefix(text: string): Prefix | string {
  const p = readPrefix(text);
  if (typeof p === "string") return p;
  const masked = p.words.map((w, i) => (w & maskOf(p.len - 32 * i)) >>> 0);
  if (masked.some((w, i) => w !== p.words[i])) {
    // 10.1.0.0/8 is usually 10.1.0.0/16 mistyped: saying so beats quietly widening it
    return `'${text}' has bits set beyond its /${p.len}: the prefix is ${format({ v6: p.v6, words: masked, len: p.len })}`;
  }
  return p;
}

/** An address with or without "/len", as fields hold it (host bits may be set: 10.0.0.1/24). */
function readPrefix(text: string): Prefix | string {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const words = addr.includes(":") ? parseV6(addr) : parseV4(addr);
  if (!words) return `'${text}' is not an IPv4 or IPv6 address`;
  const v6 = words.length === 4;
  const max = v6 ? 128 : 32;
  let len = max;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l)) return `'${text}': the prefix length after '/' must be a number`;
    len = Number(l);
    if (len > max) return `'${text}': prefix length ${len} is longer than ${v6 ? "IPv6" : "IPv4"}'s ${max} bits`;
  }
  return { v6, words, len };
}

/** the mask of the first `bits` bits of a 32-bit word (bits may be outside 0..32) */
function maskOf(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

export function format(p: Prefix): string {
  if (!p.v6) return `${[24, 16, 8, 0].map((s) => (p.words[0]! >>> s) & 255).join(".")}/${p.len}`;
  const groups = p.words.flatMap((w) => [w >>> 16, w & 0xffff]);
  // the longest run of zero groups becomes "::", as inet_ntop writes it
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = best < 0 ? hex.join(":") : `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
  return `${text}/${p.len}`;
}

function parseV4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let w = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    w = w * 256 + Number(p);
  }
  return [w];
}

function parseV6(s: string): number[] | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      // a dotted IPv4 tail (::ffff:10.0.0.1) stands for the last two groups
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push(v4[0]! >>> 16, v4[0]! & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return undefined;
  const all = [...head, ...Array<number>(8 - n).fill(0), ...tail];
  return [0, 1, 2, 3].map((i) => ((all[2 * i]! << 16) | all[2 * i + 1]!) >>> 0);
}

// scratch for scan(): the value of the octets it read, the first of them, and the prefix length
let sAddr = 0;
let sPart = 0;
let sLen = 0;

/**
 * Dotted decimal from `i`, where `dots` octets (each with its dot) are already matched, then
 * "/len" or the end: into sAddr, sPart and sLen (32 without a length); false for anything else,
 * IPv6 among it. Written out octet by octet: a loop per character with a state to keep measured
 * twice the time, and this runs for every event a prefix test sees.
 */
function scan(s: string, i: number, dots: number): boolean {
  const n = s.length;
  let w = 0;
  let first = -1;
  for (;;) {
    if (i >= n) return false;
    let c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return false;
    let v = c;
    if (++i < n && (c = s.charCodeAt(i) - 48) >= 0 && c <= 9) {
      v = v * 10 + c;
      if (++i < n && (c = s.charCodeAt(i) - 48) >= 0 && c <= 9) {
        v = v * 10 + c;
        i++;
        if (v > 255) return false;
      }
    }
    if (first < 0) first = v;
    w = w * 256 + v;
    if (dots === 3) break;
    if (i >= n || s.charCodeAt(i) !== 46) return false;
    i++;
    dots++;
  }
  sAddr = w;
  sPart = first;
  if (i === n) {
    sLen = 32;
    return true;
  }
  if (s.charCodeAt(i) !== 47) return false;
  const a = s.charCodeAt(i + 1) - 48;
  if (n - i === 2) {
    if (a < 0 || a > 9) return false;
    sLen = a;
    return true;
  }
  if (n - i !== 3) return false;
  const b2 = s.charCodeAt(i + 2) - 48;
  if (a < 0 || a > 3 || b2 < 0 || b2 > 9) return false;
  sLen = a * 10 + b2;
  return sLen <= 32;
}

/**
 * A test of a field's value against `p`: text holding an address of p's family, whose prefix
 * (the address alone: a host) lies wholly inside p.
 */
export function insideTest(p: Prefix): (x: unknown) => boolean {
  if (!p.v6) {
    const net = p.words[0]!;
    const mask = maskOf(p.len);
    const len = p.len;
    const whole = len >> 3;
    if (whole === 0 || whole === 4) return (x) => typeof x === "string" && scan(x, 0, 0) && sLen >= len && ((sAddr & mask) >>> 0) === net;
    // The octets wholly inside the prefix are compared as text ("10." for 10.0.0.0/8): the
    // decoders write addresses in dotted decimal without leading zeros, and most values are
    // rejected there, by one native comparison. Only the rest of the text is scanned.
    const lead = [24, 16, 8].slice(0, whole).map((sh) => (net >>> sh) & 255).join(".") + ".";
    const from = lead.length;
    const pmask = maskOf(len - 8 * whole) >>> 24;
    const pwant = (net >>> (24 - 8 * whole)) & 255;
    if (pmask === 0) return (x) => typeof x === "string" && x.startsWith(lead) && scan(x, from, whole) && sLen >= len;
    return (x) => typeof x === "string" && x.startsWith(lead) && scan(x, from, whole) && sLen >= len && (sPart & pmask) === pwant;
  }
  const masks = [0, 1, 2, 3].map((i) => maskOf(p.len - 32 * i));
  const net = p.words;
  return (x) => {
    if (typeof x !== "string" || !x.includes(":")) return false;
    const q = readPrefix(x);
    if (typeof q === "string" || !q.v6 || q.len < p.len) return false;
    for (let i = 0; i < 4; i++) if (((q.words[i]! & masks[i]!) >>> 0) !== net[i]) return false;
    return true;
  };
}
