/**
 * ctnetlink tuples (CTA_TUPLE_*), shared by connections and expectations. Every value in them is
 * in network byte order without NLA_F_NET_BYTEORDER saying so (ctnetlink puts them with
 * nla_put_be*), hence the be* getters rather than the flag-following u16/u32.
 */
import type { ConntrackTuple } from "../../event/conntrack-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { AttrReader } from "../../codec/reader.ts";
import { ipv4, ipv6 } from "../../codec/format.ts";
import { shortNames } from "../../decode/names.ts";
import {
  CTA_IP_V4_DST, CTA_IP_V4_SRC, CTA_IP_V6_DST, CTA_IP_V6_SRC, CTA_PROTO_DST_PORT, CTA_PROTO_ICMPV6_CODE,
  CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE, CTA_PROTO_ICMP_CODE, CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_TUPLE_IP, CTA_TUPLE_PROTO, CTA_TUPLE_ZONE,
} from "../../uapi/netfilter.gen.ts";
import { NAMES as SOCK_NAMES } from "../../uapi/sock_diag.gen.ts";

const PROTO_NAMES = shortNames(SOCK_NAMES.ipproto, "IPPROTO_");

export function protoName(n: number): string {
  return PROTO_NAMES[n] ?? String(n);
}

/** A nested set's deferred problem, reported once, under the place it was found. */
export function reportErr(n: AttrReader, where: string, ctx: DecodeContext): void {
  if (n.err) ctx.error("bad_attr_len", `conntrack: ${where}: ${n.err}`);
}

function addr(n: AttrReader, size: number): string | undefined {
  if (n.len < size) {
    n.fail(`address attribute ${n.type} has ${n.len} bytes, needs ${size}`);
    return undefined;
  }
  return size === 4 ? ipv4(n.dv, n.off) : ipv6(n.dv, n.off);
}

function readIp(r: AttrReader, t: ConntrackTuple, ctx: DecodeContext) {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_IP_V4_SRC: t.src = addr(n, 4); break;
      case CTA_IP_V4_DST: t.dst = addr(n, 4); break;
      case CTA_IP_V6_SRC: t.src = addr(n, 16); break;
      case CTA_IP_V6_DST: t.dst = addr(n, 16); break;
      default: ctx.unknownAttr("conntrack.ip", n.type);
    }
  }
  reportErr(n, "tuple ip", ctx);
}

/** Returns CTA_PROTO_NUM, or -1 when the set has none. */
function readProto(r: AttrReader, t: ConntrackTuple, ctx: DecodeContext): number {
  let num = -1;
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_PROTO_NUM: num = n.u8(); break;
      case CTA_PROTO_SRC_PORT: t.sport = n.be16(); break;
      case CTA_PROTO_DST_PORT: t.dport = n.be16(); break;
      // ICMP and ICMPv6 keep apart attributes of one meaning; the tuple has one protocol, so one set of keys
      case CTA_PROTO_ICMP_TYPE: case CTA_PROTO_ICMPV6_TYPE: t.type = n.u8(); break;
      case CTA_PROTO_ICMP_CODE: case CTA_PROTO_ICMPV6_CODE: t.code = n.u8(); break;
      case CTA_PROTO_ICMP_ID: case CTA_PROTO_ICMPV6_ID: t.id = n.be16(); break;
      default: ctx.unknownAttr("conntrack.proto", n.type);
    }
  }
  reportErr(n, "tuple proto", ctx);
  return num;
}

export interface DecodedTuple {
  tuple: ConntrackTuple;
  /** CTA_PROTO_NUM, -1 when absent: the caller decides where the protocol is shown */
  protonum: number;
}

/** The CTA_TUPLE_* set in r's current attribute. */
export function readTuple(r: AttrReader, ctx: DecodeContext): DecodedTuple {
  const tuple: ConntrackTuple = {};
  let protonum = -1;
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_TUPLE_IP: readIp(n, tuple, ctx); break;
      case CTA_TUPLE_PROTO: protonum = readProto(n, tuple, ctx); break;
      case CTA_TUPLE_ZONE: tuple.zone = n.be16(); break;
      default: ctx.unknownAttr("conntrack.tuple", n.type);
    }
  }
  reportErr(n, "tuple", ctx);
  return { tuple, protonum };
}

/** A tuple whose protocol is shown inside it (a master's, which may differ from the body's). */
export function readTupleWithProto(r: AttrReader, ctx: DecodeContext): ConntrackTuple {
  const { tuple, protonum } = readTuple(r, ctx);
  if (protonum < 0) return tuple;
  // protocol keys first, as in a body
  return { proto: protoName(protonum), protonum, ...tuple };
}
