/**
 * nf_tables expressions (a rule's NFTA_RULE_EXPRESSIONS, a set's or an element's expressions): the
 * ones that load and compare register values here, the statements in nft-stmt.ts, and any other
 * by its name with its data as hex.
 */
import type { DecodeContext } from "../../decode/context.ts";
import type { NftExpr } from "../../event/nft-model.ts";
import { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { flagsToNames, shortNames } from "../../decode/names.ts";
import {
  NAMES, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM,
  NFTA_BITWISE_DATA, NFTA_BITWISE_DREG, NFTA_BITWISE_LEN, NFTA_BITWISE_MASK, NFTA_BITWISE_OP, NFTA_BITWISE_SREG,
  NFTA_BITWISE_XOR, NFTA_CMP_DATA, NFTA_CMP_OP, NFTA_CMP_SREG, NFTA_CT_DIRECTION, NFTA_CT_DREG, NFTA_CT_KEY,
  NFTA_CT_SREG, NFTA_IMMEDIATE_DATA, NFTA_IMMEDIATE_DREG, NFTA_LOOKUP_DREG, NFTA_LOOKUP_FLAGS, NFTA_LOOKUP_SET,
  NFTA_LOOKUP_SET_ID, NFTA_LOOKUP_SREG, NFTA_META_DREG, NFTA_META_KEY, NFTA_META_SREG, NFTA_PAYLOAD_BASE,
  NFTA_PAYLOAD_CSUM_FLAGS, NFTA_PAYLOAD_CSUM_OFFSET, NFTA_PAYLOAD_CSUM_TYPE, NFTA_PAYLOAD_DREG, NFTA_PAYLOAD_LEN,
  NFTA_PAYLOAD_OFFSET, NFTA_PAYLOAD_SREG, NFTA_RANGE_FROM_DATA, NFTA_RANGE_OP, NFTA_RANGE_SREG, NFTA_RANGE_TO_DATA,
  NFT_CT_AVGPKT, NFT_CT_BYTES, NFT_CT_EVENTMASK, NFT_CT_EXPIRATION, NFT_CT_ID, NFT_CT_MARK, NFT_CT_PKTS, NFT_CT_SECMARK,
  NFT_CT_STATE, NFT_CT_STATUS, NFT_CT_ZONE,
  NFT_META_BRI_IIFPVID, NFT_META_CGROUP, NFT_META_CPU, NFT_META_IIF, NFT_META_IIFGROUP, NFT_META_IFTYPE, NFT_META_LEN,
  NFT_META_MARK, NFT_META_OIF, NFT_META_OIFGROUP, NFT_META_OIFTYPE, NFT_META_PRANDOM, NFT_META_PRIORITY,
  NFT_META_RTCLASSID, NFT_META_SDIF, NFT_META_SECMARK, NFT_META_SKGID, NFT_META_SKUID, NFT_META_TIME_HOUR, NFT_META_TIME_NS,
} from "../../uapi/netfilter.gen.ts";
import { LOOKUP_FLAGS, reportNest } from "./nft-common.ts";
import { type ExprReader, type HostRegs, type NftData, dataHex, putData, readData, setDreg, unknownExprAttr } from "./nft-data.ts";
import { STATEMENTS } from "./nft-stmt.ts";

const META_KEYS = shortNames(NAMES.nft_meta_keys, "NFT_META_");
const CT_KEYS = shortNames(NAMES.nft_ct_keys, "NFT_CT_");
const CMP_OPS = shortNames(NAMES.nft_cmp_ops, "NFT_CMP_");
/** "ll", "network", "transport", "inner": the header the offset counts from */
const PAYLOAD_BASES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(shortNames(NAMES.nft_payload_bases, "NFT_PAYLOAD_")).map(([k, v]) => [k, v.replace(/_header$/, "")]),
);

/**
 * meta and ct keys whose values the kernel writes to a register in host byte order (nft_meta_get_eval
 * and nft_ct_get_eval store them as plain u16/u32/u64); one-byte keys need no entry
 */
const HOST_ORDER_META = new Set([
  NFT_META_LEN, NFT_META_PRIORITY, NFT_META_MARK, NFT_META_IIF, NFT_META_OIF, NFT_META_IFTYPE, NFT_META_OIFTYPE,
  NFT_META_SKUID, NFT_META_SKGID, NFT_META_RTCLASSID, NFT_META_SECMARK, NFT_META_CPU, NFT_META_IIFGROUP,
  NFT_META_OIFGROUP, NFT_META_CGROUP, NFT_META_PRANDOM, NFT_META_TIME_NS, NFT_META_TIME_HOUR, NFT_META_SDIF,
  NFT_META_BRI_IIFPVID,
]);
const HOST_ORDER_CT = new Set([
  NFT_CT_STATE, NFT_CT_STATUS, NFT_CT_MARK, NFT_CT_SECMARK, NFT_CT_EXPIRATION, NFT_CT_ZONE, NFT_CT_PKTS, NFT_CT_BYTES,
  NFT_CT_AVGPKT, NFT_CT_EVENTMASK, NFT_CT_ID,
]);

const LOADS: Readonly<Record<string, ExprReader>> = {
  meta(n, e, ctx, regs) {
    let key = -1;
    while (n.next()) {
      switch (n.type) {
        case NFTA_META_KEY: key = n.be32(); e.key = META_KEYS[key] ?? key; break;
        case NFTA_META_DREG: e.dreg = n.be32(); break;
        case NFTA_META_SREG: e.sreg = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    setDreg(e, regs, HOST_ORDER_META.has(key));
  },
  ct(n, e, ctx, regs) {
    let key = -1;
    while (n.next()) {
      switch (n.type) {
        case NFTA_CT_KEY: key = n.be32(); e.key = CT_KEYS[key] ?? key; break;
        case NFTA_CT_DREG: e.dreg = n.be32(); break;
        case NFTA_CT_SREG: e.sreg = n.be32(); break;
        case NFTA_CT_DIRECTION: e.dir = n.u8(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    setDreg(e, regs, HOST_ORDER_CT.has(key));
  },
  cmp(n, e, ctx, regs) {
    let d: NftData | undefined;
    while (n.next()) {
      switch (n.type) {
        case NFTA_CMP_SREG: e.sreg = n.be32(); break;
        case NFTA_CMP_OP: { const op = n.be32(); e.op = CMP_OPS[op] ?? op; break; }
        case NFTA_CMP_DATA: d = readData(n, ctx); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    if (d) putData(e, d, e.sreg !== undefined && regs.has(e.sreg));
  },
  payload(n, e, ctx, regs) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_PAYLOAD_DREG: e.dreg = n.be32(); break;
        case NFTA_PAYLOAD_SREG: e.sreg = n.be32(); break;
        case NFTA_PAYLOAD_BASE: { const b = n.be32(); e.base = PAYLOAD_BASES[b] ?? b; break; }
        case NFTA_PAYLOAD_OFFSET: e.offset = n.be32(); break;
        case NFTA_PAYLOAD_LEN: e.len = n.be32(); break;
        case NFTA_PAYLOAD_CSUM_TYPE: e.csum_type = n.be32(); break;
        case NFTA_PAYLOAD_CSUM_OFFSET: e.csum_offset = n.be32(); break;
        case NFTA_PAYLOAD_CSUM_FLAGS: e.csum_flags = n.be32(); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    setDreg(e, regs, false);
  },
  immediate(n, e, ctx, regs) {
    let d: NftData | undefined;
    while (n.next()) {
      switch (n.type) {
        case NFTA_IMMEDIATE_DREG: e.dreg = n.be32(); break;
        case NFTA_IMMEDIATE_DATA: d = readData(n, ctx); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    if (d) putData(e, d, false);
    setDreg(e, regs, false);
  },
  lookup(n, e, ctx, regs) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_LOOKUP_SET: e.set = n.string(); break;
        case NFTA_LOOKUP_SET_ID: e.set_id = n.be32(); break;
        case NFTA_LOOKUP_SREG: e.sreg = n.be32(); break;
        case NFTA_LOOKUP_DREG: e.dreg = n.be32(); break;
        case NFTA_LOOKUP_FLAGS: e.flags = flagsToNames(n.be32(), LOOKUP_FLAGS); break;
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    setDreg(e, regs, false);
  },
  bitwise(n, e, ctx, regs) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_BITWISE_SREG: e.sreg = n.be32(); break;
        case NFTA_BITWISE_DREG: e.dreg = n.be32(); break;
        case NFTA_BITWISE_LEN: e.len = n.be32(); break;
        case NFTA_BITWISE_OP: e.op = n.be32(); break;
        case NFTA_BITWISE_MASK: { const h = dataHex(n, ctx); if (h !== undefined) e.mask = h; break; }
        case NFTA_BITWISE_XOR: { const h = dataHex(n, ctx); if (h !== undefined) e.xor = h; break; }
        case NFTA_BITWISE_DATA: { const h = dataHex(n, ctx); if (h !== undefined) e.data = h; break; }
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
    // masking keeps the byte order of what it masks
    setDreg(e, regs, e.sreg !== undefined && regs.has(e.sreg));
  },
  range(n, e, ctx) {
    while (n.next()) {
      switch (n.type) {
        case NFTA_RANGE_SREG: e.sreg = n.be32(); break;
        case NFTA_RANGE_OP: e.op = n.be32(); break;
        case NFTA_RANGE_FROM_DATA: { const h = dataHex(n, ctx); if (h !== undefined) e.from = h; break; }
        case NFTA_RANGE_TO_DATA: { const h = dataHex(n, ctx); if (h !== undefined) e.to = h; break; }
        default: unknownExprAttr(e, ctx, n.type);
      }
    }
  },
};

const EXPRS: Readonly<Record<string, ExprReader>> = { ...LOADS, ...STATEMENTS };

/** One expression: the attributes of the nest `r` is on (NFTA_EXPR_NAME and NFTA_EXPR_DATA). */
export function readExpr(r: AttrReader, ctx: DecodeContext, regs: HostRegs = new Set()): NftExpr {
  const n = r.nest();
  let name = "";
  let dataOff = -1;
  let dataLen = 0;
  while (n.next()) {
    if (n.type === NFTA_EXPR_NAME) name = n.string();
    else if (n.type === NFTA_EXPR_DATA) { dataOff = n.off; dataLen = n.len; }
    else ctx.unknownAttr("nft.expr", n.type);
  }
  reportNest(n, "expression", ctx);
  const e: NftExpr = { name };
  if (dataOff < 0) return e;
  const decode = Object.hasOwn(EXPRS, name) ? EXPRS[name] : undefined;
  if (!decode) {
    e.raw = hex(new Uint8Array(n.dv.buffer, n.dv.byteOffset + dataOff, dataLen));
    return e;
  }
  const d = new AttrReader(n.dv, dataOff, dataOff + dataLen);
  decode(d, e, ctx, regs);
  reportNest(d, `expression ${name}`, ctx);
  return e;
}

/** An NFTA_LIST_ELEM list of expressions (the nest `r` is on), in order. */
export function readExprList(r: AttrReader, ctx: DecodeContext): NftExpr[] {
  const out: NftExpr[] = [];
  const regs: HostRegs = new Set();
  const n = r.nest();
  while (n.next()) {
    if (n.type === NFTA_LIST_ELEM) out.push(readExpr(n, ctx, regs));
    else ctx.unknownAttr("nft.expr_list", n.type);
  }
  reportNest(n, "expression list", ctx);
  return out;
}
