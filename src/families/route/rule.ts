/** RTM_NEWRULE / RTM_DELRULE: struct fib_rule_hdr + FRA_* attributes. */
import {
  FRA_DPORT_RANGE, FRA_DST, FRA_FLOW, FRA_FWMARK, FRA_FWMASK, FRA_GOTO, FRA_IIFNAME, FRA_IP_PROTO, FRA_L3MDEV,
  FRA_OIFNAME, FRA_PRIORITY, FRA_PROTOCOL, FRA_SPORT_RANGE, FRA_SRC, FRA_SUPPRESS_IFGROUP, FRA_SUPPRESS_PREFIXLEN,
  FRA_TABLE, FRA_UID_RANGE, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import type { RuleBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { flagsToNames } from "../../decode/names.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

function range32(dv: DataView, off: number, len: number) {
  return len >= SIZEOF.fib_rule_uid_range ? { start: dv.getUint32(off, true), end: dv.getUint32(off + 4, true) } : undefined;
}
function range16(dv: DataView, off: number, len: number) {
  return len >= SIZEOF.fib_rule_port_range ? { start: dv.getUint16(off, true), end: dv.getUint16(off + 2, true) } : undefined;
}

const RULE_ATTRS = routeSet("rule", "fra", {
  [FRA_PRIORITY]: { name: "priority", type: "u32" },
  [FRA_TABLE]: { name: "table", type: "u32" },
  [FRA_SRC]: { name: "src", type: "binary", display: "ip" },
  [FRA_DST]: { name: "dst", type: "binary", display: "ip" },
  [FRA_IIFNAME]: { name: "iif", type: "string" },
  [FRA_OIFNAME]: { name: "oif", type: "string" },
  [FRA_FWMARK]: { name: "fwmark", type: "u32" },
  [FRA_FWMASK]: { name: "fwmask", type: "u32" },
  [FRA_GOTO]: { name: "goto", type: "u32" },
  [FRA_FLOW]: { name: "flow", type: "u32" },
  [FRA_SUPPRESS_PREFIXLEN]: { name: "suppress_prefixlen", type: "u32" },
  [FRA_SUPPRESS_IFGROUP]: { name: "suppress_ifgroup", type: "u32" },
  [FRA_L3MDEV]: { name: "l3mdev", type: "u8" },
  [FRA_UID_RANGE]: { name: "uid_range", type: "binary", parse: range32 },
  [FRA_PROTOCOL]: { name: "protocol", type: "u8" },
  [FRA_IP_PROTO]: { name: "ip_proto", type: "u8" },
  [FRA_SPORT_RANGE]: { name: "sport_range", type: "binary", parse: range16 },
  [FRA_DPORT_RANGE]: { name: "dport_range", type: "binary", parse: range16 },
});
const decodeRuleAttrs = compileSet(RULE_ATTRS);

const F = {
  family: OFFSETOF["fib_rule_hdr.family"],
  dstLen: OFFSETOF["fib_rule_hdr.dst_len"],
  srcLen: OFFSETOF["fib_rule_hdr.src_len"],
  tos: OFFSETOF["fib_rule_hdr.tos"],
  table: OFFSETOF["fib_rule_hdr.table"],
  action: OFFSETOF["fib_rule_hdr.action"],
  flags: OFFSETOF["fib_rule_hdr.flags"],
};

export function decodeRule(dv: DataView, off: number, end: number, ctx: DecodeContext): RuleBody | undefined {
  if (end - off < SIZEOF.fib_rule_hdr) {
    ctx.error("truncated", `rule: ${end - off} bytes, fib_rule_hdr needs ${SIZEOF.fib_rule_hdr}`);
    return undefined;
  }
  const a = decodeRuleAttrs(dv, off + SIZEOF.fib_rule_hdr, end, ctx);
  const table = typeof a.table === "number" ? a.table : dv.getUint8(off + F.table);
  const action = dv.getUint8(off + F.action);
  const flags = dv.getUint32(off + F.flags, true);
  const body: RuleBody = {
    family: ctx.names.family(dv.getUint8(off + F.family)),
    table,
    table_name: ctx.names.table(table),
    action,
    action_name: ctx.names.frAct.get(action) ?? String(action),
    flags: flagsToNames(flags, ctx.names.fibRuleF),
    flags_raw: flags,
  };
  pick(body, a, ["priority"]);
  if (typeof a.src === "string") body.src = `${a.src}/${dv.getUint8(off + F.srcLen)}`;
  if (typeof a.dst === "string") body.dst = `${a.dst}/${dv.getUint8(off + F.dstLen)}`;
  const tos = dv.getUint8(off + F.tos);
  if (tos) body.tos = tos;
  // all ones is the kernel's "not set" for these two, which iproute2 does not print either
  if (a.suppress_prefixlen === 0xffffffff) delete a.suppress_prefixlen;
  if (a.suppress_ifgroup === 0xffffffff) delete a.suppress_ifgroup;
  pick(body, a, ["iif", "oif", "fwmark", "fwmask", "goto", "flow", "suppress_prefixlen", "suppress_ifgroup", "l3mdev",
    "uid_range", "ip_proto", "sport_range", "dport_range"]);
  if (typeof a.protocol === "number") {
    body.protocol = a.protocol;
    body.protocol_name = ctx.names.protocol(a.protocol);
  }
  return body;
}
