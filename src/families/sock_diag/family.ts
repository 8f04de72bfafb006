/** sock_diag's groups, message names, and the dumps a snapshot of the sockets is taken with. */
import type { NlMsgHeader } from "../../codec/nlmsg.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { DumpRequest } from "../../decode/family.ts";
import { AF_INET, AF_INET6 } from "../../uapi/linux.gen.ts";
import {
  IPPROTO_TCP, IPPROTO_UDP, NAMES, SKNLGRP_INET6_TCP_DESTROY, SKNLGRP_INET6_UDP_DESTROY, SKNLGRP_INET_TCP_DESTROY,
  SKNLGRP_INET_UDP_DESTROY, SOCK_DIAG_BY_FAMILY,
} from "../../uapi/sock_diag.gen.ts";
import type { EventType } from "../../event/model.ts";
import { decodeSockDiag } from "./decode.ts";
import { inetDiagRequests } from "./request.ts";

/** the destroy groups, by the names reports use */
export const SOCK_DIAG_GROUPS: Record<string, number> = {
  inet_tcp_destroy: SKNLGRP_INET_TCP_DESTROY,
  inet_udp_destroy: SKNLGRP_INET_UDP_DESTROY,
  inet6_tcp_destroy: SKNLGRP_INET6_TCP_DESTROY,
  inet6_udp_destroy: SKNLGRP_INET6_UDP_DESTROY,
};

const MSG_NAMES = NAMES.sock_diag_msg;

export function sockDiagMsgTypeName(t: number): string | undefined {
  return MSG_NAMES[t];
}

/** `protocol`: the dump request's ("tcp", "udp"), which a dump reply does not carry */
export function decodeSockDiagMessage(hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext, protocol?: string):
  { type: EventType; body: object | undefined } | undefined {
  if (hdr.type !== SOCK_DIAG_BY_FAMILY) return undefined;
  return { type: "diag", body: decodeSockDiag(hdr, dv, off, end, ctx, protocol) };
}

/** every TCP and UDP socket, IPv4 and IPv6 (the monitor builds its own from the config: socket-poll.ts) */
export function sockDiagDumpRequests(): DumpRequest[] {
  return inetDiagRequests({ families: [AF_INET, AF_INET6], protocols: [IPPROTO_TCP, IPPROTO_UDP] })
    .map((r) => ({ type: "diag" as const, request: r.request }));
}
