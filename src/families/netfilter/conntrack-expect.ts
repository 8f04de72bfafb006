/**
 * Expectations (NFNL_SUBSYS_CTNETLINK_EXP): what a helper (ftp, sip, h323, ...) has told conntrack
 * to wait for, so that the data connection is RELATED to its master.
 */
import type { ConntrackExpectBody } from "../../event/conntrack-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { AttrReader } from "../../codec/reader.ts";
import {
  CTA_EXPECT_CLASS, CTA_EXPECT_FLAGS, CTA_EXPECT_FN, CTA_EXPECT_HELP_NAME, CTA_EXPECT_ID, CTA_EXPECT_MASK,
  CTA_EXPECT_MASTER, CTA_EXPECT_NAT, CTA_EXPECT_NAT_DIR, CTA_EXPECT_NAT_TUPLE, CTA_EXPECT_TIMEOUT,
  CTA_EXPECT_TUPLE, CTA_EXPECT_ZONE,
} from "../../uapi/netfilter.gen.ts";
import { protoName, readTuple, readTupleWithProto, reportErr } from "./conntrack-tuple.ts";

function readNat(r: AttrReader, ctx: DecodeContext): NonNullable<ConntrackExpectBody["nat"]> {
  const nat: NonNullable<ConntrackExpectBody["nat"]> = {};
  const n = r.nest();
  while (n.next()) {
    switch (n.type) {
      case CTA_EXPECT_NAT_DIR: nat.dir = n.be32(); break;
      case CTA_EXPECT_NAT_TUPLE: nat.tuple = readTupleWithProto(n, ctx); break;
      default: ctx.unknownAttr("conntrack.expect_nat", n.type);
    }
  }
  reportErr(n, "expect nat", ctx);
  return nat;
}

/** The attributes after nfgenmsg, read into body. */
export function readExpect(r: AttrReader, body: ConntrackExpectBody, ctx: DecodeContext): void {
  while (r.next()) {
    switch (r.type) {
      case CTA_EXPECT_TUPLE: {
        const t = readTuple(r, ctx);
        if (t.protonum >= 0) {
          body.proto = protoName(t.protonum);
          body.protonum = t.protonum;
        }
        body.tuple = t.tuple;
        break;
      }
      // a mask's protocol number is a mask too (all ones), not a protocol: left out
      case CTA_EXPECT_MASK: body.mask = readTuple(r, ctx).tuple; break;
      case CTA_EXPECT_MASTER: body.master = readTupleWithProto(r, ctx); break;
      case CTA_EXPECT_TIMEOUT: body.timeout = r.be32(); break;
      case CTA_EXPECT_ID: body.id = r.be32(); break;
      case CTA_EXPECT_HELP_NAME: body.helper = r.string(); break;
      case CTA_EXPECT_ZONE: body.zone = r.be16(); break;
      case CTA_EXPECT_FLAGS: body.flags = r.be32(); break;
      case CTA_EXPECT_CLASS: body.class = r.be32(); break;
      case CTA_EXPECT_NAT: body.nat = readNat(r, ctx); break;
      case CTA_EXPECT_FN: body.fn = r.string(); break;
      default: ctx.unknownAttr("conntrack.expect", r.type);
    }
  }
}
