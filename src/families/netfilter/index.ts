/**
 * NETLINK_NETFILTER (nfnetlink): one protocol carrying several subsystems, told apart by the high
 * byte of the message type: conntrack (ctnetlink), its expectations, and nf_tables. This file is
 * what the registry holds from start; the numbers and decoders (decode.ts) load with the first
 * message or the first socket opened, so a monitor of routes alone never holds them.
 */
import type { DumpRequest, Family } from "../../decode/family.ts";
import { NETLINK_NETFILTER } from "../../uapi/linux.gen.ts";

type Impl = typeof import("./decode.ts");
let impl: Impl | undefined;
const load = (): Impl => (impl ??= require("./decode.ts") as Impl);

export const netfilterFamily: Family = {
  name: "netfilter",
  protocol: NETLINK_NETFILTER,
  // the conntrack cache pairs NEW and DELETE itself (monitor/conntrack-sync.ts): listed here, the
  // pair would load the numbers at start for every monitor
  objects: [],
  get groups() {
    return load().NETFILTER_GROUPS;
  },
  dumpRequests: (): DumpRequest[] => load().netfilterDumpRequests(),
  dumpOrder: ["nftables", "conntrack"],
  msgTypeName: (t) => load().netfilterMsgTypeName(t),
  decode: (hdr, dv, off, end, ctx) => load().decodeNetfilter(hdr, dv, off, end, ctx),
};
