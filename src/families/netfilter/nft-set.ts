/**
 * NEWSET / DELSET and NEWSETELEM / DELSETELEM. A set's key and data types are nft's own type
 * numbers, which the kernel stores without reading, so elements are given as bytes: a notification
 * carries one element, a dump reply many.
 */
import type { DecodeContext } from "../../decode/context.ts";
import type { NftBody, NftElem } from "../../event/nft-model.ts";
import type { AttrReader } from "../../codec/reader.ts";
import { hex } from "../../codec/format.ts";
import { flagsToNames } from "../../decode/names.ts";
import {
  NFTA_LIST_ELEM,
  NFTA_SET_DATA_LEN, NFTA_SET_DATA_TYPE, NFTA_SET_DESC, NFTA_SET_EXPR, NFTA_SET_EXPRESSIONS, NFTA_SET_FLAGS,
  NFTA_SET_GC_INTERVAL, NFTA_SET_HANDLE, NFTA_SET_ID, NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME,
  NFTA_SET_OBJ_TYPE, NFTA_SET_PAD, NFTA_SET_POLICY, NFTA_SET_TABLE, NFTA_SET_TIMEOUT, NFTA_SET_USERDATA,
  NFTA_SET_ELEM_DATA, NFTA_SET_ELEM_EXPIRATION, NFTA_SET_ELEM_EXPR, NFTA_SET_ELEM_EXPRESSIONS, NFTA_SET_ELEM_FLAGS,
  NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_KEY_END, NFTA_SET_ELEM_OBJREF, NFTA_SET_ELEM_PAD, NFTA_SET_ELEM_TIMEOUT,
  NFTA_SET_ELEM_USERDATA,
  NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_SET_ID, NFTA_SET_ELEM_LIST_TABLE,
  NFT_DATA_VERDICT,
} from "../../uapi/netfilter.gen.ts";
import { ELEM_FLAGS, SET_FLAGS, attrHex, reportNest, smallNumber } from "./nft-common.ts";
import { readData } from "./nft-data.ts";
import { readExpr, readExprList } from "./nft-expr.ts";

export function readSet(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_SET_TABLE: body.table = r.string(); break;
      case NFTA_SET_NAME: body.name = r.string(); break;
      case NFTA_SET_HANDLE: body.handle = r.be64(); break;
      case NFTA_SET_FLAGS: body.flags = flagsToNames(r.be32(), SET_FLAGS); break;
      case NFTA_SET_KEY_TYPE: body.key_type = r.be32(); break;
      case NFTA_SET_KEY_LEN: body.key_len = r.be32(); break;
      case NFTA_SET_DATA_TYPE: { const t = r.be32(); body.data_type = t === NFT_DATA_VERDICT ? "verdict" : t; break; }
      case NFTA_SET_DATA_LEN: body.data_len = r.be32(); break;
      case NFTA_SET_OBJ_TYPE: body.obj_type = r.be32(); break;
      case NFTA_SET_POLICY: body.policy = r.be32(); break;
      case NFTA_SET_DESC: if (r.len > 0) body.desc = attrHex(r); break;
      case NFTA_SET_ID: body.id = r.be32(); break;
      case NFTA_SET_TIMEOUT: body.timeout_ms = r.be64(); break;
      case NFTA_SET_GC_INTERVAL: body.gc_interval_ms = r.be32(); break;
      case NFTA_SET_USERDATA: body.userdata_len = r.len; break;
      case NFTA_SET_EXPR: (body.set_exprs ??= []).push(readExpr(r, ctx)); break;
      case NFTA_SET_EXPRESSIONS: (body.set_exprs ??= []).push(...readExprList(r, ctx)); break;
      case NFTA_SET_PAD: break;
      default: ctx.unknownAttr("nft.set", r.type);
    }
  }
}

function readElem(r: AttrReader, ctx: DecodeContext): NftElem {
  const el: NftElem = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case NFTA_SET_ELEM_KEY: {
        const d = readData(n, ctx);
        if (d.bytes) { el.key = hex(d.bytes); const v = smallNumber(d.bytes); if (v !== undefined) el.key_num = v; }
        break;
      }
      case NFTA_SET_ELEM_KEY_END: {
        const d = readData(n, ctx);
        if (d.bytes) { el.key_end = hex(d.bytes); const v = smallNumber(d.bytes); if (v !== undefined) el.key_end_num = v; }
        break;
      }
      case NFTA_SET_ELEM_DATA: {
        const d = readData(n, ctx);
        if (d.bytes) { el.data = hex(d.bytes); const v = smallNumber(d.bytes); if (v !== undefined) el.data_num = v; }
        if (d.verdict !== undefined) el.verdict = d.verdict;
        if (d.chain !== undefined) el.chain = d.chain;
        if (d.chain_id !== undefined) el.chain_id = d.chain_id;
        break;
      }
      case NFTA_SET_ELEM_FLAGS: el.flags = flagsToNames(n.be32(), ELEM_FLAGS); break;
      case NFTA_SET_ELEM_TIMEOUT: el.timeout_ms = n.be64(); break;
      case NFTA_SET_ELEM_EXPIRATION: el.expires_ms = n.be64(); break;
      case NFTA_SET_ELEM_USERDATA: el.userdata_len = n.len; break;
      case NFTA_SET_ELEM_OBJREF: el.objref = n.string(); break;
      case NFTA_SET_ELEM_EXPR: (el.exprs ??= []).push(readExpr(n, ctx)); break;
      case NFTA_SET_ELEM_EXPRESSIONS: (el.exprs ??= []).push(...readExprList(n, ctx)); break;
      case NFTA_SET_ELEM_PAD: break;
      default: ctx.unknownAttr("nft.setelem", n.type);
    }
  }
  reportNest(n, "set element", ctx);
  return el;
}

export function readSetElems(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  const elems: NftElem[] = [];
  while (r.next()) {
    switch (r.type) {
      case NFTA_SET_ELEM_LIST_TABLE: body.table = r.string(); break;
      case NFTA_SET_ELEM_LIST_SET: body.name = r.string(); break;
      case NFTA_SET_ELEM_LIST_SET_ID: body.id = r.be32(); break;
      case NFTA_SET_ELEM_LIST_ELEMENTS: {
        const n = r.nest();
        while (n.next()) {
          if (n.type === NFTA_LIST_ELEM) elems.push(readElem(n, ctx));
          else ctx.unknownAttr("nft.setelem_list.elements", n.type);
        }
        reportNest(n, "set elements", ctx);
        break;
      }
      default: ctx.unknownAttr("nft.setelem_list", r.type);
    }
  }
  body.elem = elems;
}
