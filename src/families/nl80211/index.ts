/**
 * nl80211, cfg80211's generic netlink family: Wi-Fi events as `iw event` shows them. The attribute
 * set (attrs.ts) gives the values; this file shapes them: management frames read for their
 * addresses, status and reason (frame.ts), reason and status codes named as iw names them
 * (ieee80211.gen.ts), the SSID taken from information elements where no attribute carries it, and
 * vendor data decoded by OUI and subcommand (vendor.ts).
 */
import type { Nl80211Body, Nl80211Frame, VendorInfoModel } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { compileSet } from "../../decode/compile.ts";
import * as U from "../../uapi/nl80211.gen.ts";
import type { GenlSubfamily } from "../genl/subfamily.ts";
import { NL80211_ATTRS } from "./attrs.ts";
import { parseMgmtFrame, ssidFromIes } from "./frame.ts";
import { REASON_CODES, STATUS_CODES } from "./ieee80211.gen.ts";
import { CMD } from "./names.ts";
import { decodeVendor } from "./vendor.ts";

const decodeAttrs = compileSet(NL80211_ATTRS);

/** commands whose NL80211_ATTR_FRAME is a control port (EAPOL) frame */
const CONTROL_PORT = new Set([U.NL80211_CMD_CONTROL_PORT_FRAME, U.NL80211_CMD_CONTROL_PORT_FRAME_TX_STATUS]);

interface Span {
  off: number;
  len: number;
}

/** fields in the order the event shows them (after cmd, version, cmd_name); the rest follow as decoded */
const LEAD = ["wiphy", "wiphy_name", "ifindex", "ifname", "wdev", "iftype", "mac"] as const;
const SPANS = new Set(["vendor_data", "frame", "ie", "req_ie", "resp_ie", "vendor_id", "vendor_subcmd"]);

function frameOf(dv: DataView, s: Span): Nl80211Frame | undefined {
  const f = parseMgmtFrame(dv, s.off, s.len);
  if (!f) return undefined;
  const out: Nl80211Frame = { subtype: f.subtype, da: f.da, sa: f.sa, bssid: f.bssid };
  if (f.status_code !== undefined) {
    out.status_code = f.status_code;
    const t = STATUS_CODES[f.status_code];
    if (t) out.status = t;
  }
  if (f.reason_code !== undefined) {
    out.reason_code = f.reason_code;
    const t = REASON_CODES[f.reason_code];
    if (t) out.reason = t;
  }
  if (f.ssid !== undefined) out.ssid = f.ssid;
  return out;
}

export function decodeNl80211(cmd: number, version: number, dv: DataView, off: number, end: number, ctx: DecodeContext): Nl80211Body {
  const a = decodeAttrs(dv, off, end, ctx) as Record<string, unknown>;
  const body: Nl80211Body = { cmd, version };
  const name = CMD[cmd];
  if (name) body.cmd_name = name;
  const b = body as unknown as Record<string, unknown>;
  for (const k of LEAD) if (a[k] !== undefined) b[k] = a[k];
  for (const [k, v] of Object.entries(a)) if (!(k in b) && !SPANS.has(k) && v !== undefined) b[k] = v;
  if (body.reason_code !== undefined && REASON_CODES[body.reason_code]) body.reason = REASON_CODES[body.reason_code];
  if (body.status_code !== undefined && STATUS_CODES[body.status_code]) body.status = STATUS_CODES[body.status_code];
  const frame = a.frame as Span | undefined;
  if (frame && CONTROL_PORT.has(cmd)) {
    // an EAPOL frame (the 4-way handshake) over the control port, not a management frame: its
    // keys stay out of the event, its size says it passed
    body.frame_len = frame.len;
  } else if (frame) {
    const f = frameOf(dv, frame);
    if (f) body.frame = f;
    else ctx.error("bad_attr_len", `nl80211: ${CMD[cmd] ?? cmd}: NL80211_ATTR_FRAME (${frame.len} bytes) is not a management frame`);
  }
  if (body.ssid === undefined) {
    for (const k of ["req_ie", "ie", "resp_ie"]) {
      const s = a[k] as Span | undefined;
      const ssid = s && ssidFromIes(dv, s.off, s.len);
      if (ssid !== undefined) {
        body.ssid = ssid;
        break;
      }
    }
  }
  if (typeof a.vendor_id === "number") {
    const d = a.vendor_data as Span | undefined;
    // the vendor tables decode into the shapes the model names (VendorInfoModel)
    body.vendor = decodeVendor(a.vendor_id, typeof a.vendor_subcmd === "number" ? a.vendor_subcmd : 0, d ? dv : undefined, d?.off ?? 0, d ? d.off + d.len : 0, ctx) as VendorInfoModel;
  }
  return body;
}

export const nl80211Family: GenlSubfamily = {
  name: "nl80211",
  type: "nl80211",
  cmdName: (cmd) => CMD[cmd],
  decode: decodeNl80211,
};
