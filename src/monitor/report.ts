/**
 * What nlmon says about the sockets it opened: one line per socket, naming its protocol, because
 * the library API opens protocols one at a time (and may start with none), and a joined list of
 * sizes ("65536,65536 bytes") says nothing about which is which.
 */
import { protocolName } from "../decode/message.ts";
import { STATE_FAMILY } from "../families/index.ts";

export interface OpenedSocket {
  protocol: number;
  /** SO_RCVBUF as the kernel reports it: twice the size granted, its own overhead counted */
  rcvbuf: number;
  forced: boolean;
}

export interface SocketReport {
  info: string[];
  warn: string[];
}

export function socketReport(backend: string, library: string | undefined, sockets: readonly OpenedSocket[], wantRcvbuf: number,
  caches: readonly string[] = []): SocketReport {
  const lib = library ? ` (${library})` : "";
  if (sockets.length === 0) return { info: [`backend ${backend}${lib}: no netlink socket open yet`], warn: [] };
  const info: string[] = [];
  const warn: string[] = [];
  for (const s of sockets) {
    const name = protocolName(s.protocol);
    const got = s.rcvbuf / 2;
    if (got < wantRcvbuf) {
      warn.push(`${name}: receive buffer is ${got} bytes, not the ${wantRcvbuf} configured: SO_RCVBUFFORCE needs CAP_NET_ADMIN (net.core.rmem_max caps it otherwise); bursts may overrun`);
    }
    // the caches hold the state family's objects, so they belong with its socket
    const withCaches = caches.length && s.protocol === STATE_FAMILY.protocol ? `, caches: ${caches.join(" ")}` : "";
    info.push(`${name}: backend ${backend}${lib}, receive buffer ${got} bytes${s.forced ? " (forced)" : ""}${withCaches}`);
  }
  return { info, warn };
}
