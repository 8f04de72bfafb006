/**
 * The 802.11 management frames nl80211 hands over with MLME events (NL80211_ATTR_FRAME): who sent
 * them to whom, and the status or reason they carry, which `iw event` prints from the frame too.
 * Subtype and element numbers are extracted from hostap (ieee80211-frames.gen.ts); the layout is
 * the standard's management frame format (IEEE Std 802.11-2020, 9.3.3): a 24-byte header of frame
 * control, duration, three addresses and sequence control, then the subtype's fixed fields.
 */
import { lladdr } from "../../codec/format.ts";
import { EID_SSID, FC_TYPE_MGMT, MGMT_STYPE } from "./ieee80211-frames.gen.ts";

const HDR = 24;
const ADDR1 = 4;
const ADDR2 = 10;
const ADDR3 = 16;

export interface MgmtFrame {
  /** management subtype name (auth, assoc_resp, deauth, ...) or its number */
  subtype: string | number;
  /** receiver (addr1), transmitter (addr2), BSSID (addr3) */
  da: string;
  sa: string;
  bssid: string;
  status_code?: number;
  reason_code?: number;
  /** the SSID element of an (re)association request */
  ssid?: string;
}

/** where each subtype keeps its status or reason, from the start of the body */
const STATUS_AT: Record<string, number> = { auth: 4, assoc_resp: 2, reassoc_resp: 2 };
const REASON_AT: Record<string, number> = { deauth: 0, disassoc: 0 };
/** fixed fields before the elements of requests (capability, listen interval, current AP) */
const IES_AT: Record<string, number> = { assoc_req: 4, reassoc_req: 10 };

/** undefined when the bytes are not a management frame's header */
export function parseMgmtFrame(dv: DataView, off: number, len: number): MgmtFrame | undefined {
  if (len < HDR) return undefined;
  const fc = dv.getUint16(off, true);
  if (((fc >> 2) & 3) !== FC_TYPE_MGMT) return undefined;
  const st = (fc >> 4) & 0xf;
  const subtype = MGMT_STYPE[st] ?? st;
  const f: MgmtFrame = { subtype, da: lladdr(dv, off + ADDR1, 6), sa: lladdr(dv, off + ADDR2, 6), bssid: lladdr(dv, off + ADDR3, 6) };
  const body = off + HDR;
  const bodyLen = len - HDR;
  if (typeof subtype === "string") {
    const s = STATUS_AT[subtype];
    if (s !== undefined && bodyLen >= s + 2) f.status_code = dv.getUint16(body + s, true);
    const r = REASON_AT[subtype];
    if (r !== undefined && bodyLen >= r + 2) f.reason_code = dv.getUint16(body + r, true);
    const ie = IES_AT[subtype];
    if (ie !== undefined && bodyLen > ie) {
      const ssid = ssidFromIes(dv, body + ie, bodyLen - ie);
      if (ssid !== undefined) f.ssid = ssid;
    }
  }
  return f;
}

/** The SSID element among information elements (id, length, value; repeated), if there is one. */
export function ssidFromIes(dv: DataView, off: number, len: number): string | undefined {
  for (let p = off; p + 2 <= off + len;) {
    const id = dv.getUint8(p);
    const l = dv.getUint8(p + 1);
    if (p + 2 + l > off + len) return undefined;
    if (id === EID_SSID) return ssidText(dv, p + 2, l);
    p += 2 + l;
  }
  return undefined;
}

/**
 * An SSID as text: it is up to 32 arbitrary bytes, so what is not printable ASCII (and the
 * backslash itself) is written \xNN, which keeps every SSID distinct and the line readable.
 */
export function ssidText(dv: DataView, off: number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const c = dv.getUint8(off + i);
    s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}
