/** RTM_NEWNSID / RTM_DELNSID: network namespace ids (struct rtgenmsg + NETNSA_* attributes). */
import { NETNSA_CURRENT_NSID, NETNSA_FD, NETNSA_NSID, NETNSA_PID, NETNSA_TARGET_NSID, NLMSG_ALIGNTO, OFFSETOF, SIZEOF } from "../../uapi/linux.gen.ts";
import type { NsidBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { compileSet } from "../../decode/compile.ts";
import { pick, routeSet } from "./common.ts";

const NSID_ATTRS = routeSet("nsid", "netnsa", {
  [NETNSA_NSID]: { name: "nsid", type: "s32" },
  [NETNSA_PID]: { name: "pid", type: "u32" },
  [NETNSA_FD]: { name: "fd", type: "u32" },
  [NETNSA_TARGET_NSID]: { name: "target_nsid", type: "s32" },
  [NETNSA_CURRENT_NSID]: { name: "current_nsid", type: "s32" },
});
const decodeNsidAttrs = compileSet(NSID_ATTRS);

/** rtgenmsg is one byte; attributes start at the next alignment boundary */
const HDR = (SIZEOF.rtgenmsg + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);

export function decodeNsid(dv: DataView, off: number, end: number, ctx: DecodeContext): NsidBody | undefined {
  if (end - off < SIZEOF.rtgenmsg) {
    ctx.error("truncated", "nsid: empty body");
    return undefined;
  }
  const a = decodeNsidAttrs(dv, off + Math.min(HDR, end - off), end, ctx);
  const body: NsidBody = { family: ctx.names.family(dv.getUint8(off + OFFSETOF["rtgenmsg.rtgen_family"])) };
  pick(body, a, ["nsid", "pid", "fd", "target_nsid", "current_nsid"]);
  return body;
}
