/**
 * AF_INET / AF_INET6 sockets: struct inet_diag_msg + INET_DIAG_* attributes. The message's
 * numbers are in host order except the ports and addresses of its inet_diag_sockid, which are
 * in network order; an IPv4 address fills the first 4 of the 16 address bytes.
 */
import type { InetMemInfo, SkMemInfo, SocketBody } from "../../event/socket-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { AttrReader } from "../../codec/reader.ts";
import { hex, ipv4, ipv6 } from "../../codec/format.ts";
import { shortNames } from "../../decode/names.ts";
import {
  AF_INET, SK_MEMINFO_BACKLOG, SK_MEMINFO_DROPS, SK_MEMINFO_FWD_ALLOC, SK_MEMINFO_OPTMEM, SK_MEMINFO_RCVBUF,
  SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_SNDBUF, SK_MEMINFO_WMEM_ALLOC, SK_MEMINFO_WMEM_QUEUED,
} from "../../uapi/linux.gen.ts";
import {
  INET_DIAG_BBRINFO, INET_DIAG_CGROUP_ID, INET_DIAG_CLASS_ID, INET_DIAG_CONG, INET_DIAG_DCTCPINFO, INET_DIAG_INFO,
  INET_DIAG_MARK, INET_DIAG_MEMINFO, INET_DIAG_NOCOOKIE, INET_DIAG_PAD, INET_DIAG_PROTOCOL, INET_DIAG_SHUTDOWN,
  INET_DIAG_SKMEMINFO, INET_DIAG_SKV6ONLY, INET_DIAG_SOCKOPT, INET_DIAG_TCLASS, INET_DIAG_TOS, INET_DIAG_VEGASINFO, IPPROTO_TCP, NAMES,
  OFFSETOF, SIZEOF,
} from "../../uapi/sock_diag.gen.ts";
import { STATE_NAMES } from "./request.ts";
import { decodeTcpInfo } from "./tcp-info.ts";

const PROTO_NAMES = shortNames(NAMES.ipproto, "IPPROTO_");

const PROTO_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(PROTO_NAMES).map(([n, name]) => [name, Number(n)]));

export function protocolName(n: number): string {
  return PROTO_NAMES[n] ?? String(n);
}

export function stateName(n: number): string {
  return STATE_NAMES[n] ?? String(n);
}

/** the socket cookie as ss prints `sk:`, from its two host-order halves; none when both are "no cookie" */
export function cookieHex(dv: DataView, at: number): string | undefined {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  if (lo === INET_DIAG_NOCOOKIE && hi === INET_DIAG_NOCOOKIE) return undefined;
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, "0");
}

/** ss's skmem letters, by SK_MEMINFO_* index */
const SKMEM_KEYS: [keyof SkMemInfo, number][] = [
  ["r", SK_MEMINFO_RMEM_ALLOC], ["rb", SK_MEMINFO_RCVBUF], ["t", SK_MEMINFO_WMEM_ALLOC], ["tb", SK_MEMINFO_SNDBUF],
  ["f", SK_MEMINFO_FWD_ALLOC], ["w", SK_MEMINFO_WMEM_QUEUED], ["o", SK_MEMINFO_OPTMEM], ["bl", SK_MEMINFO_BACKLOG],
  ["d", SK_MEMINFO_DROPS],
];

/** an SK_MEMINFO_* array (u32 each); an older kernel's shorter array gives fewer values */
export function readSkMem(dv: DataView, off: number, len: number): SkMemInfo {
  const m: SkMemInfo = {};
  for (const [k, i] of SKMEM_KEYS) if ((i + 1) * 4 <= len) m[k] = dv.getUint32(off + i * 4, true);
  return m;
}

/**
 * struct inet_diag_sockopt is one-bit fields only, which have no offsetof: named here in the
 * header's declaration order (the ABI allocates them from the low bit of each byte), as ss
 * --inet-sockopt prints them; a bit past the named ones (the header's `unused`) is skipped.
 */
const SOCKOPT_BITS = [
  "recverr", "is_icsk", "freebind", "hdrincl", "mc_loop", "transparent", "mc_all", "nodefrag",
  "bind_addr_no_port", "recverr_rfc4884", "defer_connect",
];

function readSockopt(dv: DataView, off: number, len: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < SOCKOPT_BITS.length && (i >> 3) < len; i++) {
    if (dv.getUint8(off + (i >> 3)) & (1 << (i & 7))) out.push(SOCKOPT_BITS[i]!);
  }
  return out;
}

/** congestion-control attributes kept as hex: the headers' structs for them are not generated */
const CC_INFO: Record<number, string> = {
  [INET_DIAG_VEGASINFO]: "vegasinfo",
  [INET_DIAG_DCTCPINFO]: "dctcpinfo",
  [INET_DIAG_BBRINFO]: "bbrinfo",
};

const M = {
  family: OFFSETOF["inet_diag_msg.idiag_family"],
  state: OFFSETOF["inet_diag_msg.idiag_state"],
  timer: OFFSETOF["inet_diag_msg.idiag_timer"],
  retrans: OFFSETOF["inet_diag_msg.idiag_retrans"],
  expires: OFFSETOF["inet_diag_msg.idiag_expires"],
  rqueue: OFFSETOF["inet_diag_msg.idiag_rqueue"],
  wqueue: OFFSETOF["inet_diag_msg.idiag_wqueue"],
  uid: OFFSETOF["inet_diag_msg.idiag_uid"],
  inode: OFFSETOF["inet_diag_msg.idiag_inode"],
};
const ID = OFFSETOF["inet_diag_msg.id"];
const S = {
  sport: ID + OFFSETOF["inet_diag_sockid.idiag_sport"],
  dport: ID + OFFSETOF["inet_diag_sockid.idiag_dport"],
  src: ID + OFFSETOF["inet_diag_sockid.idiag_src"],
  dst: ID + OFFSETOF["inet_diag_sockid.idiag_dst"],
  ifindex: ID + OFFSETOF["inet_diag_sockid.idiag_if"],
  cookie: ID + OFFSETOF["inet_diag_sockid.idiag_cookie"],
};

/**
 * `protocol`: the protocol the dump was asked for (IPPROTO_* or its name, "tcp"), since a dump
 * reply does not carry it; a message's own INET_DIAG_PROTOCOL wins. tcp_info is decoded only
 * when the protocol is TCP.
 */
export function decodeInet(dv: DataView, off: number, end: number, ctx: DecodeContext, protocol?: number | string): SocketBody {
  const len = end - off;
  const fits = (at: number, n: number) => at + n <= len;
  const family = dv.getUint8(off + M.family);
  const state = fits(M.state, 1) ? dv.getUint8(off + M.state) : 0;
  const body: SocketBody = { family: ctx.names.family(family), family_num: family, state: stateName(state), state_num: state, inode: 0 };
  if (typeof protocol === "number") {
    body.protocol = protocolName(protocol);
    body.protocol_num = protocol;
  } else if (protocol !== undefined) {
    body.protocol = protocol;
    const n = PROTO_NUMBERS[protocol];
    if (n !== undefined) body.protocol_num = n;
  }
  if (len < SIZEOF.inet_diag_msg) {
    ctx.error("truncated", `sock_diag: inet message of ${len} bytes, inet_diag_msg needs ${SIZEOF.inet_diag_msg}`);
    return body;
  }
  const v4 = family === AF_INET;
  body.src = v4 ? ipv4(dv, off + S.src) : ipv6(dv, off + S.src);
  body.sport = dv.getUint16(off + S.sport, false);
  body.dst = v4 ? ipv4(dv, off + S.dst) : ipv6(dv, off + S.dst);
  body.dport = dv.getUint16(off + S.dport, false);
  const ifindex = dv.getUint32(off + S.ifindex, true);
  if (ifindex !== 0) {
    body.ifindex = ifindex;
    const dev = ctx.ifname(ifindex);
    if (dev !== undefined) body.dev = dev;
  }
  body.uid = dv.getUint32(off + M.uid, true);
  body.inode = dv.getUint32(off + M.inode, true);
  const cookie = cookieHex(dv, off + S.cookie);
  if (cookie !== undefined) body.cookie = cookie;
  body.rqueue = dv.getUint32(off + M.rqueue, true);
  body.wqueue = dv.getUint32(off + M.wqueue, true);
  const timer = dv.getUint8(off + M.timer);
  if (timer !== 0) {
    body.timer = { num: timer, expires_ms: dv.getUint32(off + M.expires, true), retrans: dv.getUint8(off + M.retrans) };
  }

  let info: [number, number] | undefined;
  const r = new AttrReader(dv, off + SIZEOF.inet_diag_msg, end);
  while (r.next()) {
    switch (r.type) {
      case INET_DIAG_MEMINFO:
        if (r.len >= SIZEOF.inet_diag_meminfo) body.meminfo = readMemInfo(dv, r.off);
        else r.fail(`INET_DIAG_MEMINFO has ${r.len} bytes, needs ${SIZEOF.inet_diag_meminfo}`);
        break;
      // the protocol may come after it: decoded once the walk is done
      case INET_DIAG_INFO: info = [r.off, r.len]; break;
      case INET_DIAG_CONG: body.cong = r.string(); break;
      case INET_DIAG_TOS: body.tos = r.u8(); break;
      case INET_DIAG_TCLASS: body.tclass = r.u8(); break;
      case INET_DIAG_SKMEMINFO: body.skmem = readSkMem(dv, r.off, r.len); break;
      case INET_DIAG_SHUTDOWN: body.shutdown = r.u8(); break;
      case INET_DIAG_PROTOCOL: {
        const p = r.u8();
        body.protocol = protocolName(p);
        body.protocol_num = p;
        break;
      }
      case INET_DIAG_SKV6ONLY: body.v6only = r.u8() !== 0; break;
      case INET_DIAG_MARK: body.mark = r.u32(); break;
      case INET_DIAG_CLASS_ID: body.class_id = r.u32(); break;
      case INET_DIAG_CGROUP_ID: body.cgroup_id = r.u64(); break;
      case INET_DIAG_SOCKOPT: body.sockopt = readSockopt(dv, r.off, r.len); break;
      // alignment for the 64-bit attributes
      case INET_DIAG_PAD: break;
      default: {
        const cc = CC_INFO[r.type];
        if (cc !== undefined) (body.cc_info ??= {})[cc] = hex(r.bytes());
        else ctx.unknownAttr("sock_diag.inet", r.type);
      }
    }
  }
  if (r.err) ctx.error("bad_attr_len", `sock_diag: ${r.err}`);
  if (info) {
    if (body.protocol_num === IPPROTO_TCP) body.tcp_info = decodeTcpInfo(dv, info[0], info[1]);
    else body.info_len = info[1];
  }
  return body;
}

function readMemInfo(dv: DataView, at: number): InetMemInfo {
  return {
    r: dv.getUint32(at + OFFSETOF["inet_diag_meminfo.idiag_rmem"], true),
    w: dv.getUint32(at + OFFSETOF["inet_diag_meminfo.idiag_wmem"], true),
    f: dv.getUint32(at + OFFSETOF["inet_diag_meminfo.idiag_fmem"], true),
    t: dv.getUint32(at + OFFSETOF["inet_diag_meminfo.idiag_tmem"], true),
  };
}
