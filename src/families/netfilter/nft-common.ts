/**
 * What the nf_tables decoders share: the words nft uses for families and flag bits, how a nested
 * set's problems are reported, and bytes to hex and numbers.
 */
import type { DecodeContext } from "../../decode/context.ts";
import type { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { NAMES, NFPROTO_ARP, NFPROTO_BRIDGE, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_NETDEV, NFPROTO_UNSPEC } from "../../uapi/netfilter.gen.ts";

/** nfgenmsg's family as nft prints it: nft's words differ from the NFPROTO_ names for IPv4 and IPv6 */
export const FAMILY_NAMES: Readonly<Record<number, string>> = {
  [NFPROTO_UNSPEC]: "unspec",
  [NFPROTO_INET]: "inet",
  [NFPROTO_IPV4]: "ip",
  [NFPROTO_ARP]: "arp",
  [NFPROTO_NETDEV]: "netdev",
  [NFPROTO_BRIDGE]: "bridge",
  [NFPROTO_IPV6]: "ip6",
};

type FlagTable = readonly (readonly [number, string])[];

/** a flag group's bits with their names cut after `prefix` and lower-cased, lowest bit first */
export function flagTable(names: Readonly<Record<number, string>>, prefix: string): FlagTable {
  return Object.entries(names)
    .filter(([, n]) => n.startsWith(prefix))
    .map(([v, n]) => [Number(v), n.slice(prefix.length).toLowerCase()] as const)
    .sort((a, b) => a[0] - b[0]);
}

export const TABLE_FLAGS = flagTable(NAMES.nft_table_flags, "NFT_TABLE_F_");
export const CHAIN_FLAGS = flagTable(NAMES.nft_chain_flags, "NFT_CHAIN_");
export const SET_FLAGS = flagTable(NAMES.nft_set_flags, "NFT_SET_");
export const ELEM_FLAGS = flagTable(NAMES.nft_set_elem_flags, "NFT_SET_ELEM_");
export const LOOKUP_FLAGS = flagTable(NAMES.nft_lookup_flags, "NFT_LOOKUP_F_");

/** A nested reader's first problem, if any, as the context's bad_attr_len. */
export function reportNest(r: AttrReader, where: string, ctx: DecodeContext): void {
  if (r.err) ctx.error("bad_attr_len", `nf_tables: ${where}: ${r.err}`);
}

/** the current attribute's payload as hex */
export function attrHex(r: AttrReader): string {
  return hex(r.bytes());
}

/** signed 32-bit big-endian: chain priorities and verdict codes */
export function sbe32(r: AttrReader): number {
  return r.be32() | 0;
}

/** the kernel's byte order, which is this machine's: host-order register values are read in it */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 1 to 4 bytes as an unsigned number, or undefined for other lengths */
export function smallNumber(b: Uint8Array, littleEndian = false): number | undefined {
  const n = b.length;
  if (n < 1 || n > 4) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[littleEndian ? n - 1 - i : i]!;
  return v;
}
