/**
 * NETLINK_SOCK_DIAG: sockets, listed by dumps (the kernel announces nothing but destroys, and
 * those only for TCP and UDP). This file is what the registry holds from start; the numbers and
 * decoders (family.ts) load with the first message or socket, so a monitor of routes alone never
 * holds them.
 */
import type { DumpRequest, Family } from "../../decode/family.ts";
import { NETLINK_SOCK_DIAG } from "../../uapi/linux.gen.ts";

type Impl = typeof import("./family.ts");
let impl: Impl | undefined;
const load = (): Impl => (impl ??= require("./family.ts") as Impl);

export const sockDiagFamily: Family = {
  name: "sock_diag",
  protocol: NETLINK_SOCK_DIAG,
  // no message removes a socket from a list: sockets are compared dump to dump (monitor/socket-poll.ts)
  objects: [],
  get groups() {
    return load().SOCK_DIAG_GROUPS;
  },
  dumpRequests: (): DumpRequest[] => load().sockDiagDumpRequests(),
  dumpOrder: ["diag"],
  msgTypeName: (t) => load().sockDiagMsgTypeName(t),
  decode: (hdr, dv, off, end, ctx, subject) => load().decodeSockDiagMessage(hdr, dv, off, end, ctx, subject),
};
