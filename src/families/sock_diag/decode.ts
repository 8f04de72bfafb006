/**
 * SOCK_DIAG_BY_FAMILY messages: dump replies, and the destroy notifications the kernel sends to
 * SKNLGRP_*_DESTROY members. Both start with the socket family's byte, which picks the layout.
 */
import type { NlMsgHeader } from "../../codec/nlmsg.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { SocketBody } from "../../event/socket-model.ts";
import { AF_INET, AF_INET6, AF_UNIX, NLM_F_MULTI } from "../../uapi/linux.gen.ts";
import { SOCK_DIAG_BY_FAMILY } from "../../uapi/sock_diag.gen.ts";
import { decodeInet } from "./inet.ts";
import { decodeUnix } from "./unix.ts";

/**
 * `protocol`: the protocol a dump was asked for, as IPPROTO_* or its name ("tcp", "udp"). Dump
 * replies do not say it (only a destroy notification carries INET_DIAG_PROTOCOL); without it the
 * body has no `protocol` and a TCP socket's tcp_info is left undecoded (`info_len` only).
 */
export function decodeSockDiag(
  hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext, protocol?: number | string,
): SocketBody | undefined {
  if (hdr.type !== SOCK_DIAG_BY_FAMILY) {
    ctx.error("unknown_msg_type", `sock_diag: message type ${hdr.type}`);
    return undefined;
  }
  if (end <= off) {
    ctx.error("truncated", "sock_diag: empty message");
    return undefined;
  }
  const family = dv.getUint8(off);
  let body: SocketBody;
  if (family === AF_INET || family === AF_INET6) body = decodeInet(dv, off, end, ctx, protocol);
  else if (family === AF_UNIX) body = decodeUnix(dv, off, end, ctx);
  else {
    ctx.error("unknown_msg_type", `sock_diag: socket family ${family}`);
    return undefined;
  }
  // the kernel builds its destroy announcement outside any request: no dump flag, no port id
  if ((hdr.flags & NLM_F_MULTI) === 0 && hdr.pid === 0) body.change = "destroy";
  return body;
}

/**
 * What makes a socket the same socket in two dumps. The kernel's cookie names one socket for its
 * whole life, TIME-WAIT included, and survives a connect() that changes the addresses; without
 * one (never seen from inet_diag or unix_diag, which always set it) the addresses, ports and inode.
 */
export function socketKey(b: SocketBody): string {
  if (b.family_num === AF_UNIX) return b.cookie ? `unix|sk:${b.cookie}` : `unix|${b.type ?? ""}|ino:${b.inode}`;
  const head = `${b.protocol ?? "?"}|${b.family}`;
  if (b.cookie && b.cookie !== "0") return `${head}|sk:${b.cookie}`;
  return `${head}|${b.src ?? ""}|${b.sport ?? 0}|${b.dst ?? ""}|${b.dport ?? 0}|ino:${b.inode}`;
}
