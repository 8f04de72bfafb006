/**
 * iproute2's `ss` and nlmon's sock_diag events brought to one comparable form: protocol, state,
 * local and peer address:port (with the device a socket is bound to), inode and cookie.
 *
 * ss prints addresses its own way: IPv6 in brackets ("[::1]", "[::ffff:127.0.0.1]"), the IPv6
 * wildcard of a dual-stack socket as "*" (and "[::]" when the socket is v6only), port 0 as "*",
 * and a socket bound to a device as "addr%dev:port". nlmon prints plain addresses ("::1",
 * "::ffff:127.0.0.1", "::") and ports as numbers, with the device as an ifindex.
 */
import type { NlEvent } from "../../src/event/model.ts";
import type { SocketBody } from "../../src/event/socket-model.ts";

export interface SockRec {
  proto: string;
  state: string;
  /** "addr:port", addr as nlmon prints it, port "*" for 0 */
  local: string;
  peer: string;
  /** ifindex of the device the socket is bound to, 0 when none */
  ifindex: number;
  inode: number;
  cookie: string;
}

/** one ss address:port token as { addr, port, dev } */
export function parseSsAddr(tok: string): { addr: string; port: number; dev?: string } {
  const i = tok.lastIndexOf(":");
  if (i < 0) throw new Error(`ss address without a port: ${tok}`);
  let host = tok.slice(0, i);
  const p = tok.slice(i + 1);
  let dev: string | undefined;
  const pct = host.lastIndexOf("%");
  if (pct >= 0 && pct > host.lastIndexOf("]")) {
    dev = host.slice(pct + 1);
    host = host.slice(0, pct);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "*") host = "::";
  return { addr: host.toLowerCase(), port: p === "*" ? 0 : Number(p), dev };
}

const hostPort = (addr: string, port: number) => `${addr}:${port === 0 ? "*" : port}`;

/**
 * One socket line of `ss -tun[ie]` (first line only: -i's continuation lines start with white space,
 * and give undefined here, as do headers). When a `state` filter names a single state ss leaves
 * the State column out: `impliedState` fills it in. `ifindexOf` maps a device name to its index.
 */
export function parseSsLine(line: string, ifindexOf: (dev: string) => number, impliedState?: string): SockRec | undefined {
  if (line === "" || /^\s/.test(line) || line.startsWith("Netid")) return undefined;
  const t = line.trim().split(/\s+/);
  let i = 0;
  const proto = t[i++]!;
  if (proto !== "tcp" && proto !== "udp") return undefined;
  let state: string;
  if (/^-?\d+$/.test(t[i]!)) {
    if (!impliedState) throw new Error(`ss line without a state column: ${line}`);
    state = impliedState;
  } else state = t[i++]!;
  i += 2; // Recv-Q, Send-Q
  const l = parseSsAddr(t[i++]!);
  const r = parseSsAddr(t[i++]!);
  const rest = t.slice(i).join(" ");
  const ino = /(?:^|\s)ino:(\d+)/.exec(rest);
  const sk = /(?:^|\s)sk:([0-9a-f]+)/.exec(rest);
  return {
    proto, state,
    local: hostPort(l.addr, l.port),
    peer: hostPort(r.addr, r.port),
    ifindex: l.dev ? ifindexOf(l.dev) : 0,
    inode: ino ? Number(ino[1]) : -1,
    cookie: sk ? sk[1]! : "",
  };
}

/** the same of one of nlmon's diag events */
export function diagRec(b: SocketBody): SockRec {
  return {
    proto: b.protocol ?? `?${b.protocol_num ?? ""}`,
    state: b.state,
    local: hostPort(b.src ?? "?", b.sport ?? 0),
    peer: hostPort(b.dst ?? "?", b.dport ?? 0),
    ifindex: b.ifindex ?? 0,
    inode: b.inode,
    cookie: b.cookie ?? "",
  };
}

export const showSock = (r: SockRec) => `${r.proto} ${r.state} ${r.local}${r.ifindex ? `%${r.ifindex}` : ""} ${r.peer} ino:${r.inode} sk:${r.cookie}`;

/** the diag bodies of nlmon's events, with whether each was derived */
export function diagEvents(evs: NlEvent[]): { ev: NlEvent; b: SocketBody }[] {
  return evs.filter((e) => e.type === "diag" && e.netlink.diag).map((ev) => ({ ev, b: ev.netlink.diag! }));
}

/** an event's time in ms since the epoch (nlmon's timestamp has ns digits) */
export function eventMs(ev: NlEvent): number {
  const ts = ev.timestamp;
  if (!ts) return NaN;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(ts);
  if (!m) return Date.parse(ts);
  return Date.parse(`${m[1]}Z`) + Number(`0.${m[2] ?? "0"}`) * 1000;
}
