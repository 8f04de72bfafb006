/**
 * What the fuzzer starts from for each registered family: the message types its decoder names
 * (asked of the decoder, so a family added later is covered without a line here) and, where one
 * was captured, a corpus of real messages. A family without a corpus is fuzzed from synthetic
 * messages alone; capturing one for it is a line in CORPORA.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { walkMessages } from "../../src/codec/nlmsg.ts";
import type { FamilyDecoder } from "../../src/decode/family.ts";
import { FAMILIES, protocolName } from "../../src/decode/message.ts";
import { NETLINK_GENERIC, NETLINK_NETFILTER, NETLINK_ROUTE, NETLINK_SOCK_DIAG, NLMSG_MIN_TYPE } from "../../src/uapi/linux.gen.ts";
import type { FamilySeeds } from "./mutate.ts";

const FIXTURES = join(import.meta.dir, "../fixtures");

/** captured messages per protocol: directories of .hex files under test/fixtures */
const CORPORA = new Map<number, string[]>([
  [NETLINK_ROUTE, ["rtnl"]], [NETLINK_GENERIC, ["genl"]], [NETLINK_NETFILTER, ["conntrack", "nftables"]], [NETLINK_SOCK_DIAG, ["sock_diag"]],
]);

export interface FuzzFamily {
  protocol: number;
  /** NETLINK_ROUTE → "route", as --family takes it */
  name: string;
  decoder: FamilyDecoder;
  seeds: FamilySeeds;
}

function hexBytes(text: string): Uint8Array {
  const t = text.trim();
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** every message of every .hex file (each line a datagram; multi-message datagrams split) */
function corpus(protocol: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const dir of CORPORA.get(protocol) ?? []) {
    if (existsSync(join(FIXTURES, dir))) corpusDir(dir, out);
  }
  return out;
}

function corpusDir(dir: string, out: Uint8Array[]) {
  for (const f of readdirSync(join(FIXTURES, dir)).filter((x) => x.endsWith(".hex") && !x.endsWith(".request.hex")).sort()) {
    // a file holds one datagram per line (dumps are several)
    for (const line of readFileSync(join(FIXTURES, dir, f), "utf8").split("\n")) {
      if (!line.trim()) continue;
      const b = hexBytes(line);
      walkMessages(new DataView(b.buffer), 0, b.length, {
        message: (hdr, _dv, _s, _e, off) => { out.push(b.slice(off, off + hdr.len)); },
        framingError: () => {},
      });
    }
  }
}

function namedTypes(d: FamilyDecoder): number[] {
  const out: number[] = [];
  for (let t = NLMSG_MIN_TYPE; t <= 0xffff; t++) if (d.msgTypeName(t) !== undefined) out.push(t);
  return out;
}

export function shortName(protocol: number): string {
  return protocolName(protocol).replace(/^NETLINK_/, "").toLowerCase();
}

/** The registered families, in protocol order. */
export function fuzzFamilies(): FuzzFamily[] {
  return [...FAMILIES.values()].sort((a, b) => a.protocol - b.protocol).map((decoder) => ({
    protocol: decoder.protocol,
    name: shortName(decoder.protocol),
    decoder,
    seeds: { types: namedTypes(decoder), corpus: corpus(decoder.protocol) },
  }));
}
