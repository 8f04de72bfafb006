/** RTM_NEWPREFIX: an IPv6 prefix learned from a router advertisement (struct prefixmsg + PREFIX_*). */
import { OFFSETOF, PREFIX_ADDRESS, PREFIX_CACHEINFO, SIZEOF } from "../../uapi/linux.gen.ts";
import type { PrefixBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { compileSet } from "../../decode/compile.ts";
import { routeSet } from "./common.ts";

const PREFIX_ATTRS = routeSet("prefix", "prefix", {
  [PREFIX_ADDRESS]: { name: "address", type: "binary", display: "ip" },
  [PREFIX_CACHEINFO]: { name: "cacheinfo", type: "binary", parse: (dv, off, len) => len >= SIZEOF.prefix_cacheinfo
      ? { preferred: dv.getUint32(off + OFFSETOF["prefix_cacheinfo.preferred_time"], true), valid: dv.getUint32(off + OFFSETOF["prefix_cacheinfo.valid_time"], true) }
      : undefined },
});
const decodePrefixAttrs = compileSet(PREFIX_ATTRS);

export function decodePrefix(dv: DataView, off: number, end: number, ctx: DecodeContext): PrefixBody | undefined {
  if (end - off < SIZEOF.prefixmsg) {
    ctx.error("truncated", `prefix: ${end - off} bytes, prefixmsg needs ${SIZEOF.prefixmsg}`);
    return undefined;
  }
  const a = decodePrefixAttrs(dv, off + SIZEOF.prefixmsg, end, ctx);
  const ifindex = dv.getInt32(off + OFFSETOF["prefixmsg.prefix_ifindex"], true);
  const len = dv.getUint8(off + OFFSETOF["prefixmsg.prefix_len"]);
  const body: PrefixBody = {
    family: ctx.names.family(dv.getUint8(off + OFFSETOF["prefixmsg.prefix_family"])),
    ifindex,
    type: dv.getUint8(off + OFFSETOF["prefixmsg.prefix_type"]),
    flags_raw: dv.getUint8(off + OFFSETOF["prefixmsg.prefix_flags"]),
  };
  const dev = ctx.ifname(ifindex);
  if (dev !== undefined) body.dev = dev;
  if (typeof a.address === "string") body.prefix = `${a.address}/${len}`;
  const ci = a.cacheinfo as { preferred: number; valid: number } | undefined;
  if (ci) {
    body.preferred_life_time = ci.preferred;
    body.valid_life_time = ci.valid;
  }
  return body;
}
