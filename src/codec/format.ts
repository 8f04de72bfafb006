/**
 * Text forms of wire values, matching what iproute2 prints (glibc inet_ntop for addresses) so that
 * nlmon's output can be compared with `ip -j` string for string.
 */

/** each octet's decimal text, made once: a full table formats millions of them */
const OCTETS = Array.from({ length: 256 }, (_, i) => String(i));

export function ipv4(dv: DataView, off: number): string {
  return `${OCTETS[dv.getUint8(off)]}.${OCTETS[dv.getUint8(off + 1)]}.${OCTETS[dv.getUint8(off + 2)]}.${OCTETS[dv.getUint8(off + 3)]}`;
}

/** hex text of a byte: unpadded (a word's high byte) and two digits (its low byte under a high one) */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** a 16-bit word as inet_ntop writes it: lower-case hex, no leading zeros */
function word(dv: DataView, at: number): string {
  const hi = dv.getUint8(at);
  const lo = dv.getUint8(at + 1);
  return hi === 0 ? HEX[lo]! : HEX[hi]! + HEX2[lo]!;
}

export function ipv6(dv: DataView, off: number): string {
  // longest run of two or more zero words; the first one wins a tie (RFC 5952, as inet_ntop does)
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (dv.getUint16(off + 2 * i, false) === 0) {
      if (curBase < 0) { curBase = i; curLen = 1; } else curLen++;
      if (curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  // IPv4-compatible and IPv4-mapped forms, as glibc prints them
  if (bestBase === 0 && (bestLen === 6 || (bestLen === 5 && dv.getUint16(off + 10, false) === 0xffff))) {
    return (bestLen === 5 ? "::ffff:" : "::") + ipv4(dv, off + 12);
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      s += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    s += word(dv, off + 2 * i);
    if (i < 7) s += ":";
  }
  return s;
}

/** Address by length: 4 → IPv4, 16 → IPv6, else colon hex (link-layer, MPLS, ...). */
export function ipAddr(dv: DataView, off: number, len: number): string {
  if (len === 4) return ipv4(dv, off);
  if (len === 16) return ipv6(dv, off);
  return lladdr(dv, off, len);
}

/** Colon-separated hex; bounded like hex(), so a hostile 64 KiB attribute is not a 190 KB string. */
export function lladdr(dv: DataView, off: number, len: number, max = 64): string {
  let s = "";
  const n = Math.min(len, max);
  for (let i = 0; i < n; i++) {
    const b = dv.getUint8(off + i);
    s += (i ? ":" : "") + (b < 16 ? "0" : "") + b.toString(16);
  }
  return n < len ? s + `…(+${len - n} bytes)` : s;
}

export function hex(bytes: Uint8Array, max = 512): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return n < bytes.length ? s + `…(+${bytes.length - n} bytes)` : s;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** A NUL-terminated (or not) string attribute. */
export function cstring(dv: DataView, off: number, len: number): string {
  let n = 0;
  while (n < len && dv.getUint8(off + n) !== 0) n++;
  return utf8.decode(new Uint8Array(dv.buffer, dv.byteOffset + off, n));
}

/** Nanoseconds since the epoch → ISO-8601 UTC with nine fractional digits. */
export function isoNs(ns: bigint): string {
  const ms = ns / 1000000n;
  const frac = (ns % 1000000000n).toString().padStart(9, "0");
  const base = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return base.slice(0, 19) + "." + frac + "Z";
}
