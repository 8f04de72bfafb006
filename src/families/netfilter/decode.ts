/**
 * nfnetlink's subsystems by the high byte of the message type, each to its decoder; the groups
 * nlmon joins and the dumps --dump-events lists.
 */
import type { NlMsgHeader } from "../../codec/nlmsg.ts";
import { dumpRequest } from "../../codec/request.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { DumpRequest } from "../../decode/family.ts";
import { shortNames } from "../../decode/names.ts";
import type { EventType } from "../../event/model.ts";
import { AF_UNSPEC } from "../../uapi/linux.gen.ts";
import {
  IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_NEW, NAMES, NFNETLINK_V0, NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_CTNETLINK_EXP, NFNL_SUBSYS_NFTABLES, NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_EXP_DESTROY,
  NFNLGRP_CONNTRACK_EXP_NEW, NFNLGRP_CONNTRACK_EXP_UPDATE, NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE,
  NFNLGRP_NFTABLES, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETSET, NFT_MSG_GETTABLE, OFFSETOF, SIZEOF,
} from "../../uapi/netfilter.gen.ts";
import { decodeConntrack } from "./conntrack.ts";
import { decodeNftables } from "./nftables.ts";

/** the message type of subsystem `subsys`'s message `msg` */
export const nfnlType = (subsys: number, msg: number): number => (subsys << 8) | msg;

/** groups by the names the config and reports use */
export const NETFILTER_GROUPS: Record<string, number> = {
  conntrack_new: NFNLGRP_CONNTRACK_NEW,
  conntrack_update: NFNLGRP_CONNTRACK_UPDATE,
  conntrack_destroy: NFNLGRP_CONNTRACK_DESTROY,
  conntrack_exp_new: NFNLGRP_CONNTRACK_EXP_NEW,
  conntrack_exp_update: NFNLGRP_CONNTRACK_EXP_UPDATE,
  conntrack_exp_destroy: NFNLGRP_CONNTRACK_EXP_DESTROY,
  nftables: NFNLGRP_NFTABLES,
};

/** conntrack's entries: announced by NEW (created or updated), removed by DELETE */
export const CT_NEW = nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW);
export const CT_DELETE = nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE);

const SUBSYS = shortNames(NAMES.nfnl_subsys, "NFNL_SUBSYS_");
const MSG_NAMES: Record<number, Readonly<Record<number, string>>> = {
  [NFNL_SUBSYS_CTNETLINK]: NAMES.ctnl_msg,
  [NFNL_SUBSYS_CTNETLINK_EXP]: NAMES.ctnl_exp_msg,
  [NFNL_SUBSYS_NFTABLES]: NAMES.nf_tables_msg_types,
};

/** IPCTNL_MSG_CT_NEW, NFT_MSG_NEWRULE, ...; a subsystem nlmon has no names for as SUBSYS/number */
export function netfilterMsgTypeName(t: number): string | undefined {
  const subsys = t >> 8;
  const msg = t & 0xff;
  const name = MSG_NAMES[subsys]?.[msg];
  if (name) return name;
  const s = SUBSYS[subsys];
  return s === undefined ? undefined : `${s}/${msg}`;
}

const EVENT_TYPE: Record<number, EventType> = {
  [NFNL_SUBSYS_CTNETLINK]: "conntrack",
  [NFNL_SUBSYS_CTNETLINK_EXP]: "conntrack_exp",
  [NFNL_SUBSYS_NFTABLES]: "nftables",
};

export function decodeNetfilter(hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext):
  { type: EventType; body: object | undefined } | undefined {
  const subsys = hdr.type >> 8;
  const type = EVENT_TYPE[subsys];
  if (!type) return undefined;
  const body = type === "nftables" ? decodeNftables(hdr, dv, off, end, ctx) : decodeConntrack(hdr, dv, off, end, ctx);
  // a message type the subsystem's decoder does not read is shown raw; one too short for its
  // nfgenmsg is malformed (the decoder said why)
  if (body === undefined && end - off >= SIZEOF.nfgenmsg) return undefined;
  return { type, body };
}

/** nfgenmsg for a request: every address family, version 0 */
function nfgen(): Uint8Array {
  const b = new Uint8Array(SIZEOF.nfgenmsg);
  b[OFFSETOF["nfgenmsg.nfgen_family"]] = AF_UNSPEC;
  b[OFFSETOF["nfgenmsg.version"]] = NFNETLINK_V0;
  return b;
}

/** the ruleset's tables, chains, sets and rules (in the order nft lists them), then the conntrack table */
export function netfilterDumpRequests(): DumpRequest[] {
  const nft = (m: number): DumpRequest => ({ type: "nftables", request: dumpRequest(nfnlType(NFNL_SUBSYS_NFTABLES, m), nfgen()) });
  return [
    nft(NFT_MSG_GETTABLE), nft(NFT_MSG_GETCHAIN), nft(NFT_MSG_GETSET), nft(NFT_MSG_GETRULE),
    { type: "conntrack", request: conntrackTableRequest() },
  ];
}

export function conntrackTableRequest(): Uint8Array {
  return dumpRequest(nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET), nfgen());
}
