/**
 * nf_tables (NFNL_SUBSYS_NFTABLES): the ruleset changes the kernel multicasts to NFNLGRP_NFTABLES
 * at the end of each transaction (what `nft monitor` prints), followed by NEWGEN for the
 * transaction itself, and the replies of a ruleset dump, which have the same layout. Every message
 * starts with struct nfgenmsg, whose res_id holds the generation; all attributes are big-endian.
 * Sets and elements are in nft-set.ts, expressions in nft-expr.ts.
 */
import type { NlMsgHeader } from "../../codec/nlmsg.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { NftAction, NftBody, NftObjectKind } from "../../event/nft-model.ts";
import { AttrReader } from "../../codec/reader.ts";
import { flagsToNames, shortNames } from "../../decode/names.ts";
import { NLM_F_APPEND, NLM_F_EXCL } from "../../uapi/linux.gen.ts";
import {
  NAMES, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_NETDEV, OFFSETOF, SIZEOF,
  NF_INET_FORWARD, NF_INET_INGRESS, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING,
  NF_NETDEV_EGRESS, NF_NETDEV_INGRESS,
  NFTA_CHAIN_COUNTERS, NFTA_CHAIN_FLAGS, NFTA_CHAIN_HANDLE, NFTA_CHAIN_HOOK, NFTA_CHAIN_ID, NFTA_CHAIN_NAME,
  NFTA_CHAIN_PAD, NFTA_CHAIN_POLICY, NFTA_CHAIN_TABLE, NFTA_CHAIN_TYPE, NFTA_CHAIN_USE, NFTA_CHAIN_USERDATA,
  NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD,
  NFTA_FLOWTABLE_FLAGS, NFTA_FLOWTABLE_HANDLE, NFTA_FLOWTABLE_HOOK, NFTA_FLOWTABLE_NAME, NFTA_FLOWTABLE_PAD,
  NFTA_FLOWTABLE_TABLE, NFTA_FLOWTABLE_USE,
  NFTA_GEN_ID, NFTA_GEN_PROC_NAME, NFTA_GEN_PROC_PID,
  NFTA_HOOK_DEV, NFTA_HOOK_DEVS, NFTA_HOOK_HOOKNUM, NFTA_HOOK_PRIORITY,
  NFTA_OBJ_DATA, NFTA_OBJ_HANDLE, NFTA_OBJ_NAME, NFTA_OBJ_PAD, NFTA_OBJ_TABLE, NFTA_OBJ_TYPE, NFTA_OBJ_USE,
  NFTA_OBJ_USERDATA,
  NFTA_RULE_CHAIN, NFTA_RULE_CHAIN_ID, NFTA_RULE_COMPAT, NFTA_RULE_EXPRESSIONS, NFTA_RULE_HANDLE, NFTA_RULE_ID,
  NFTA_RULE_PAD, NFTA_RULE_POSITION, NFTA_RULE_POSITION_ID, NFTA_RULE_TABLE, NFTA_RULE_USERDATA,
  NFTA_TABLE_FLAGS, NFTA_TABLE_HANDLE, NFTA_TABLE_NAME, NFTA_TABLE_OWNER, NFTA_TABLE_PAD, NFTA_TABLE_USE,
  NFTA_TABLE_USERDATA,
  NFT_MSG_DELCHAIN, NFT_MSG_DELFLOWTABLE, NFT_MSG_DELOBJ, NFT_MSG_DELRULE, NFT_MSG_DELSET, NFT_MSG_DELSETELEM,
  NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWFLOWTABLE, NFT_MSG_NEWGEN, NFT_MSG_NEWOBJ, NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWTABLE,
} from "../../uapi/netfilter.gen.ts";
import { CHAIN_FLAGS, FAMILY_NAMES, TABLE_FLAGS, attrHex, reportNest, sbe32 } from "./nft-common.ts";
import { readExprList } from "./nft-expr.ts";
import { readSet, readSetElems } from "./nft-set.ts";

const O_FAMILY = OFFSETOF["nfgenmsg.nfgen_family"];
const O_RES_ID = OFFSETOF["nfgenmsg.res_id"];

/** the message types decoded here: what changed, and whether it went away */
const MESSAGES: Readonly<Record<number, readonly [NftObjectKind, boolean]>> = {
  [NFT_MSG_NEWTABLE]: ["table", false], [NFT_MSG_DELTABLE]: ["table", true],
  [NFT_MSG_NEWCHAIN]: ["chain", false], [NFT_MSG_DELCHAIN]: ["chain", true],
  [NFT_MSG_NEWRULE]: ["rule", false], [NFT_MSG_DELRULE]: ["rule", true],
  [NFT_MSG_NEWSET]: ["set", false], [NFT_MSG_DELSET]: ["set", true],
  [NFT_MSG_NEWSETELEM]: ["element", false], [NFT_MSG_DELSETELEM]: ["element", true],
  [NFT_MSG_NEWGEN]: ["gen", false],
  [NFT_MSG_NEWOBJ]: ["obj", false], [NFT_MSG_DELOBJ]: ["obj", true],
  [NFT_MSG_NEWFLOWTABLE]: ["flowtable", false], [NFT_MSG_DELFLOWTABLE]: ["flowtable", true],
};

/** nft monitor's word for the change (see NftAction): the kernel copies the request's flags into the notification */
function actionOf(msg: number, del: boolean, flags: number): NftAction {
  if (del) return "delete";
  if (msg === NFT_MSG_NEWRULE) return flags & NLM_F_APPEND ? "add" : "insert";
  return flags & NLM_F_EXCL ? "create" : "add";
}

/** hook numbers are per family: nft's words for the inet families' and netdev's */
const INET_HOOKS: Readonly<Record<number, string>> = {
  [NF_INET_PRE_ROUTING]: "prerouting",
  [NF_INET_LOCAL_IN]: "input",
  [NF_INET_FORWARD]: "forward",
  [NF_INET_LOCAL_OUT]: "output",
  [NF_INET_POST_ROUTING]: "postrouting",
  [NF_INET_INGRESS]: "ingress",
};
const NETDEV_HOOKS: Readonly<Record<number, string>> = {
  [NF_NETDEV_INGRESS]: "ingress",
  [NF_NETDEV_EGRESS]: "egress",
};
const HOOKS_BY_FAMILY: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [NFPROTO_INET]: INET_HOOKS,
  [NFPROTO_IPV4]: INET_HOOKS,
  [NFPROTO_IPV6]: INET_HOOKS,
  [NFPROTO_NETDEV]: NETDEV_HOOKS,
};

/** a base chain's policy is a netfilter verdict: accept or drop */
const POLICIES = shortNames(NAMES.nf_verdict, "NF_");

function readTable(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_TABLE_NAME: body.table = body.name = r.string(); break;
      case NFTA_TABLE_HANDLE: body.handle = r.be64(); break;
      case NFTA_TABLE_FLAGS: body.flags = flagsToNames(r.be32(), TABLE_FLAGS); break;
      case NFTA_TABLE_USE: body.use = r.be32(); break;
      case NFTA_TABLE_OWNER: body.owner = r.be32(); break;
      case NFTA_TABLE_USERDATA: body.userdata_len = r.len; break;
      case NFTA_TABLE_PAD: break;
      default: ctx.unknownAttr("nft.table", r.type);
    }
  }
}

function readHook(r: AttrReader, body: NftBody, family: number, ctx: DecodeContext): void {
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case NFTA_HOOK_HOOKNUM: {
        const h = n.be32();
        const name = HOOKS_BY_FAMILY[family]?.[h];
        if (name) body.hook = name;
        body.hooknum = h;
        break;
      }
      case NFTA_HOOK_PRIORITY: body.prio = sbe32(n); break;
      case NFTA_HOOK_DEV: body.dev = n.string(); break;
      case NFTA_HOOK_DEVS: {
        // each attribute is one device's name (NFTA_DEVICE_NAME, the list's only kind, whose
        // number nlmon's generated headers do not hold)
        const d = n.nest();
        const devs: string[] = [];
        while (d.next()) devs.push(d.string());
        reportNest(d, "hook devices", ctx);
        body.devs = devs;
        break;
      }
      default: ctx.unknownAttr("nft.hook", n.type);
    }
  }
  reportNest(n, "chain hook", ctx);
}

function readChain(r: AttrReader, body: NftBody, family: number, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_CHAIN_TABLE: body.table = r.string(); break;
      case NFTA_CHAIN_NAME: body.name = r.string(); break;
      case NFTA_CHAIN_HANDLE: body.handle = r.be64(); break;
      case NFTA_CHAIN_TYPE: body.type = r.string(); break;
      case NFTA_CHAIN_HOOK: readHook(r, body, family, ctx); break;
      case NFTA_CHAIN_POLICY: { const p = r.be32(); body.policy = POLICIES[p] ?? p; break; }
      case NFTA_CHAIN_FLAGS: body.flags = flagsToNames(r.be32(), CHAIN_FLAGS); break;
      case NFTA_CHAIN_USE: body.use = r.be32(); break;
      case NFTA_CHAIN_ID: body.id = r.be32(); break;
      case NFTA_CHAIN_USERDATA: body.userdata_len = r.len; break;
      case NFTA_CHAIN_COUNTERS: {
        const n = r.nest();
        while (n.next()) {
          if (n.type === NFTA_COUNTER_PACKETS) body.packets = n.be64();
          else if (n.type === NFTA_COUNTER_BYTES) body.bytes = n.be64();
          else if (n.type !== NFTA_COUNTER_PAD) ctx.unknownAttr("nft.chain.counters", n.type);
        }
        reportNest(n, "chain counters", ctx);
        break;
      }
      case NFTA_CHAIN_PAD: break;
      default: ctx.unknownAttr("nft.chain", r.type);
    }
  }
}

function readRule(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_RULE_TABLE: body.table = r.string(); break;
      case NFTA_RULE_CHAIN: body.chain = r.string(); break;
      case NFTA_RULE_HANDLE: body.handle = r.be64(); break;
      case NFTA_RULE_POSITION: body.position = r.be64(); break;
      case NFTA_RULE_POSITION_ID: body.position_id = r.be32(); break;
      case NFTA_RULE_CHAIN_ID: body.chain_id = r.be32(); break;
      case NFTA_RULE_ID: body.id = r.be32(); break;
      case NFTA_RULE_USERDATA: body.userdata_len = r.len; break;
      case NFTA_RULE_EXPRESSIONS: body.exprs = readExprList(r, ctx); break;
      case NFTA_RULE_COMPAT: body.compat = attrHex(r); break;
      case NFTA_RULE_PAD: break;
      default: ctx.unknownAttr("nft.rule", r.type);
    }
  }
}

function readGen(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_GEN_ID: body.gen_id = r.be32(); break;
      case NFTA_GEN_PROC_PID: body.pid = r.be32(); break;
      case NFTA_GEN_PROC_NAME: body.proc_name = r.string(); break;
      default: ctx.unknownAttr("nft.gen", r.type);
    }
  }
}

function readObj(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_OBJ_TABLE: body.table = r.string(); break;
      case NFTA_OBJ_NAME: body.name = r.string(); break;
      case NFTA_OBJ_HANDLE: body.handle = r.be64(); break;
      case NFTA_OBJ_TYPE: body.obj_type = r.be32(); break;
      case NFTA_OBJ_USE: body.use = r.be32(); break;
      case NFTA_OBJ_DATA: body.data = attrHex(r); break;
      case NFTA_OBJ_USERDATA: body.userdata_len = r.len; break;
      case NFTA_OBJ_PAD: break;
      default: ctx.unknownAttr("nft.obj", r.type);
    }
  }
}

function readFlowtable(r: AttrReader, body: NftBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case NFTA_FLOWTABLE_TABLE: body.table = r.string(); break;
      case NFTA_FLOWTABLE_NAME: body.name = r.string(); break;
      case NFTA_FLOWTABLE_HANDLE: body.handle = r.be64(); break;
      case NFTA_FLOWTABLE_HOOK: body.hook_raw = attrHex(r); break;
      case NFTA_FLOWTABLE_USE: body.use = r.be32(); break;
      // NFT_FLOWTABLE_* flag names are not in nlmon's headers: bits in hex
      case NFTA_FLOWTABLE_FLAGS: body.flags = flagsToNames(r.be32(), []); break;
      case NFTA_FLOWTABLE_PAD: break;
      default: ctx.unknownAttr("nft.flowtable", r.type);
    }
  }
}

/**
 * One nf_tables message; [off, end) is the body after the nlmsghdr. Undefined for a message type
 * that carries no ruleset change (GET*, TRACE, types newer than nlmon's headers) and for a body too
 * short for its nfgenmsg (reported to `ctx`).
 */
export function decodeNftables(hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext): NftBody | undefined {
  const msg = hdr.type & 0xff;
  const m = MESSAGES[msg];
  if (!m) return undefined;
  if (end - off < SIZEOF.nfgenmsg) {
    ctx.error("truncated", `nf_tables: ${end - off} bytes, nfgenmsg needs ${SIZEOF.nfgenmsg}`);
    return undefined;
  }
  const [object, del] = m;
  const family = dv.getUint8(off + O_FAMILY);
  const body: NftBody = object === "gen" ? { object } : { action: actionOf(msg, del, hdr.flags), object };
  body.family = FAMILY_NAMES[family] ?? String(family);
  body.family_num = family;
  body.res_id = dv.getUint16(off + O_RES_ID, false);
  const r = new AttrReader(dv, off + SIZEOF.nfgenmsg, end);
  switch (object) {
    case "table": readTable(r, body, ctx); break;
    case "chain": readChain(r, body, family, ctx); break;
    case "rule": readRule(r, body, ctx); break;
    case "set": readSet(r, body, ctx); break;
    case "element": readSetElems(r, body, ctx); break;
    case "gen": readGen(r, body, ctx); break;
    case "obj": readObj(r, body, ctx); break;
    case "flowtable": readFlowtable(r, body, ctx); break;
  }
  reportNest(r, object, ctx);
  return body;
}
