/** RTM_NEWNSID / RTM_DELNSID: network namespace ids (struct rtgenmsg + NETNSA_* attributes). */
import { NETNSA_CURRENT_NSID, NETNSA_FD, NETNSA_NSID, NETNSA_PID, NETNSA_TARGET_NSID, NLMSG_ALIGNTO, OFFSETOF, SIZEOF } from "../../uapi/linux.gen.ts";
import type { NsidBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { decodeAttrs } from "../../decode/table.ts";
import { knownTable, pick } from "./common.ts";

const NSID_ATTRS = knownTable("netnsa", [
  [NETNSA_NSID, "nsid", "s32"],
  [NETNSA_PID, "pid", "u32"],
  [NETNSA_FD, "fd", "u32"],
  [NETNSA_TARGET_NSID, "target_nsid", "s32"],
  [NETNSA_CURRENT_NSID, "current_nsid", "s32"],
]);

/** rtgenmsg is one byte; attributes start at the next alignment boundary */
const HDR = (SIZEOF.rtgenmsg + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);

export function decodeNsid(dv: DataView, off: number, end: number, ctx: DecodeContext): NsidBody | undefined {
  if (end - off < SIZEOF.rtgenmsg) {
    ctx.error("truncated", "nsid: empty body");
    return undefined;
  }
  const a = decodeAttrs(dv, off + Math.min(HDR, end - off), end, NSID_ATTRS, ctx, "nsid");
  const body: NsidBody = { family: ctx.names.family(dv.getUint8(off + OFFSETOF["rtgenmsg.rtgen_family"])) };
  pick(body, a, ["nsid", "pid", "fd", "target_nsid", "current_nsid"]);
  return body;
}
