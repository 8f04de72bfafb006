/**
 * nf_tables statements: the expressions that act on a packet (count, log, limit, reject,
 * translate addresses) or refer to a stateful object, rather than load and compare values.
 */
import { shortNames } from "../../decode/names.ts";
import {
  NAMES,
  NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD, NFTA_LIMIT_BURST, NFTA_LIMIT_FLAGS, NFTA_LIMIT_PAD,
  NFTA_LIMIT_RATE, NFTA_LIMIT_TYPE, NFTA_LIMIT_UNIT, NFTA_LOG_FLAGS, NFTA_LOG_GROUP, NFTA_LOG_LEVEL, NFTA_LOG_PREFIX,
  NFTA_LOG_QTHRESHOLD, NFTA_LOG_SNAPLEN, NFTA_MASQ_FLAGS, NFTA_MASQ_REG_PROTO_MAX, NFTA_MASQ_REG_PROTO_MIN,
  NFTA_NAT_FAMILY, NFTA_NAT_FLAGS, NFTA_NAT_REG_ADDR_MAX, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MAX,
  NFTA_NAT_REG_PROTO_MIN, NFTA_NAT_TYPE, NFTA_OBJREF_IMM_NAME, NFTA_OBJREF_IMM_TYPE, NFTA_OBJREF_SET_ID,
  NFTA_OBJREF_SET_NAME, NFTA_OBJREF_SET_SREG, NFTA_REDIR_FLAGS, NFTA_REDIR_REG_PROTO_MAX, NFTA_REDIR_REG_PROTO_MIN,
  NFTA_REJECT_ICMP_CODE, NFTA_REJECT_TYPE,
} from "../../uapi/netfilter.gen.ts";
import { FAMILY_NAMES } from "./nft-common.ts";
import { type ExprReader, unknownExprAttr } from "./nft-data.ts";

const NAT_TYPES = shortNames(NAMES.nft_nat_types, "NFT_NAT_");
const REJECT_TYPES = shortNames(NAMES.nft_reject_types, "NFT_REJECT_");

export const STATEMENTS: Readonly<Record<string, ExprReader>> = {
  counter(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_COUNTER_PACKETS: e.packets = n.be64(); break;
        case NFTA_COUNTER_BYTES: e.bytes = n.be64(); break;
        default: unknownExprAttr(e, ctx, n.type, NFTA_COUNTER_PAD);
      }
    }
  },
  log(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_LOG_GROUP: e.group = n.be16(); break;
        case NFTA_LOG_PREFIX: e.prefix = n.string(); break;
        case NFTA_LOG_SNAPLEN: e.snaplen = n.be32(); break;
        case NFTA_LOG_QTHRESHOLD: e.qthreshold = n.be16(); break;
        case NFTA_LOG_LEVEL: e.level = n.be32(); break;
        case NFTA_LOG_FLAGS: e.flags = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
  limit(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_LIMIT_RATE: e.rate = n.be64(); break;
        case NFTA_LIMIT_UNIT: e.unit = n.be64(); break;
        case NFTA_LIMIT_BURST: e.burst = n.be32(); break;
        case NFTA_LIMIT_TYPE: e.type = n.be32(); break;
        case NFTA_LIMIT_FLAGS: e.flags = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type, NFTA_LIMIT_PAD);
      }
    }
  },
  reject(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_REJECT_TYPE: { const t = n.be32(); e.type = REJECT_TYPES[t] ?? t; break; }
        case NFTA_REJECT_ICMP_CODE: e.icmp_code = n.u8(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
  nat(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_NAT_TYPE: { const t = n.be32(); e.type = NAT_TYPES[t] ?? t; break; }
        case NFTA_NAT_FAMILY: { const f = n.be32(); e.family = FAMILY_NAMES[f] ?? f; break; }
        case NFTA_NAT_REG_ADDR_MIN: e.reg_addr_min = n.be32(); break;
        case NFTA_NAT_REG_ADDR_MAX: e.reg_addr_max = n.be32(); break;
        case NFTA_NAT_REG_PROTO_MIN: e.reg_proto_min = n.be32(); break;
        case NFTA_NAT_REG_PROTO_MAX: e.reg_proto_max = n.be32(); break;
        case NFTA_NAT_FLAGS: e.flags = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
  masq(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_MASQ_FLAGS: e.flags = n.be32(); break;
        case NFTA_MASQ_REG_PROTO_MIN: e.reg_proto_min = n.be32(); break;
        case NFTA_MASQ_REG_PROTO_MAX: e.reg_proto_max = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
  redir(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_REDIR_FLAGS: e.flags = n.be32(); break;
        case NFTA_REDIR_REG_PROTO_MIN: e.reg_proto_min = n.be32(); break;
        case NFTA_REDIR_REG_PROTO_MAX: e.reg_proto_max = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
  objref(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_OBJREF_IMM_TYPE: e.obj_type = n.be32(); break;
        case NFTA_OBJREF_IMM_NAME: e.obj_name = n.string(); break;
        case NFTA_OBJREF_SET_SREG: e.sreg = n.be32(); break;
        case NFTA_OBJREF_SET_NAME: e.set = n.string(); break;
        case NFTA_OBJREF_SET_ID: e.set_id = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
};
