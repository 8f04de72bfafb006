/**
 * nft_data (a value's bytes or a verdict), carried by expressions and set elements, and what the
 * expression readers share.
 *
 * Registers carry no type, so a cmp's bytes cannot tell a mark from an address. Most loads are in
 * network byte order (packet fields, addresses, ports), but meta and ct keep a few keys in host
 * order (mark, ct state, ...): nft reads them that way, and so does an expression's `value`, by
 * following which expression last wrote each register within the list.
 */
import type { DecodeContext } from "../../decode/context.ts";
import type { NftExpr, NftVerdictFields } from "../../event/nft-model.ts";
import type { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { shortNames } from "../../decode/names.ts";
import {
  NAMES, NFTA_DATA_VALUE, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CHAIN_ID, NFTA_VERDICT_CODE,
} from "../../uapi/netfilter.gen.ts";
import { HOST_LE, reportNest, sbe32, smallNumber } from "./nft-common.ts";

/** verdicts: the netfilter ones (NF_ACCEPT, ...) are non-negative, nf_tables' own (NFT_JUMP, ...) negative */
const VERDICTS: Readonly<Record<number, string>> = {
  ...shortNames(NAMES.nf_verdict, "NF_"),
  ...shortNames(NAMES.nft_verdicts, "NFT_"),
};

export function verdictName(code: number): string | number {
  return VERDICTS[code] ?? code;
}

/** Reads an NFTA_DATA_VERDICT nest into `out`. */
function readVerdict(r: AttrReader, out: NftVerdictFields, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case NFTA_VERDICT_CODE: out.verdict = verdictName(sbe32(n)); break;
      case NFTA_VERDICT_CHAIN: out.chain = n.string(); break;
      case NFTA_VERDICT_CHAIN_ID: out.chain_id = n.be32(); break;
      default: ctx.unknownAttr("nft.verdict", n.type);
    }
  }
  reportNest(n, "verdict", ctx);
}

/** an nft_data nest: a value's bytes (a view into the message) or a verdict */
export interface NftData extends NftVerdictFields {
  bytes?: Uint8Array;
}

/** Reads the nft_data nest that `r` is on. */
export function readData(r: AttrReader, ctx: DecodeContext): NftData {
  const out: NftData = {};
  const n = r.nest();
  while (n.next()) {
    if (n.type === NFTA_DATA_VALUE) out.bytes = n.bytes();
    else if (n.type === NFTA_DATA_VERDICT) readVerdict(n, out, ctx);
    else ctx.unknownAttr("nft.data", n.type);
  }
  reportNest(n, "data", ctx);
  return out;
}

/** registers that hold a host-order value, as the list's expressions so far left them */
export type HostRegs = Set<number>;

/** An expression reader: the attributes of its NFTA_EXPR_DATA into `e`. */
export type ExprReader = (n: AttrReader, e: NftExpr, ctx: DecodeContext, regs: HostRegs) => void;

/** Records whether the expression's destination register now holds a host-order value. */
export function setDreg(e: NftExpr, regs: HostRegs, host: boolean): void {
  if (e.dreg === undefined) return;
  if (host) regs.add(e.dreg);
  else regs.delete(e.dreg);
}

/** an nft_data value into an expression's data/value, or its verdict */
export function putData(e: NftExpr, d: NftData, host: boolean): void {
  if (d.bytes) {
    e.data = hex(d.bytes);
    const v = smallNumber(d.bytes, host && HOST_LE);
    if (v !== undefined) {
      e.value = v;
      if (host && d.bytes.length > 1) e.byteorder = "host";
    }
  }
  if (d.verdict !== undefined) e.verdict = d.verdict;
  if (d.chain !== undefined) e.chain = d.chain;
  if (d.chain_id !== undefined) e.chain_id = d.chain_id;
}

/** an nft_data value's bytes as hex, for masks and range bounds */
export function dataHex(r: AttrReader, ctx: DecodeContext): string | undefined {
  const d = readData(r, ctx);
  return d.bytes ? hex(d.bytes) : undefined;
}

/** Attributes nobody needs to see (padding before a 64-bit value) are skipped rather than reported. */
export function unknownExprAttr(e: NftExpr, ctx: DecodeContext, type: number, pad = -1): void {
  if (type !== pad) ctx.unknownAttr(`nft.expr.${e.name}`, type);
}
