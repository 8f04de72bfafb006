/**
 * nl80211 vendor commands and events (NL80211_CMD_VENDOR): the vendor's OUI and subcommand, named
 * where known, and NL80211_ATTR_VENDOR_DATA decoded where nlmon has the vendor's attribute set.
 * For QCA (OUI 00:13:74) every subcommand of hostap's qca-vendor.h is named, and the ones listed
 * in qca/index.ts are decoded: their data is a nest of the subcommand's attributes. Anything else
 * is kept as hex. Malformed data is reported through the context, never thrown.
 */
import { hex } from "../../codec/format.ts";
import { compileSet } from "../../decode/compile.ts";
import type { DecodeContext, DecodeErrorKind } from "../../decode/context.ts";
import type { Names } from "../../decode/names.ts";
import { STATUS_CODES } from "./ieee80211.gen.ts";
import { QCA_NL80211_VENDOR_SUBCMD_KEY_MGMT_ROAM_AUTH, QCA_SUBCMDS } from "./qca-vendor.gen.ts";
import { QCA_SETS } from "./qca/index.ts";

export interface VendorInfo {
  oui: number;
  /** "00:13:74" */
  oui_hex: string;
  /** "QCA" etc., for the OUIs in VENDORS */
  vendor?: string;
  subcmd: number;
  subcmd_name?: string;
  /** NL80211_ATTR_VENDOR_DATA decoded */
  data?: Record<string, unknown>;
  /** NL80211_ATTR_VENDOR_DATA as hex, when it is not decoded or could not be */
  data_hex?: string;
}

export const OUI_QCA = 0x001374;

/**
 * OUIs of vendors whose drivers send nl80211 vendor commands and events, each as a public source
 * states it:
 * - QCA 00:13:74: hostap src/common/qca-vendor.h (OUI_QCA), and Linux mac80211_hwsim.c (OUI_QCA).
 * - Broadcom 00:10:18 and Google 00:1a:11: Linux drivers/net/wireless/broadcom/brcm80211/brcmfmac/
 *   vendor.h (BROADCOM_OUI, GOOGLE_OUI).
 * - Intel 00:17:35: iwlwifi's iwl-vendor-cmd.h (INTEL_OUI), in Intel's iwlwifi backport tree on
 *   kernel.org.
 * - MediaTek 00:0c:e7: MediaTek's mt76 vendor.h (MTK_NL80211_VENDOR_ID 0x0ce7).
 * - Marvell 00:50:43 and Realtek 00:e0:4c: the OUI tables of Realtek's rtl8xxx drivers (in Linux
 *   staging: MARVELL_OUI, REALTEK_OUI); NXP's Android Wi-Fi HAL sends its vendor commands with
 *   MARVELL_OUI.
 */
export const VENDORS: Readonly<Record<number, string>> = {
  [OUI_QCA]: "QCA",
  0x001018: "Broadcom",
  0x001a11: "Google",
  0x001735: "Intel",
  0x000ce7: "MediaTek",
  0x005043: "Marvell",
  0x00e04c: "Realtek",
};

function ouiHex(oui: number): string {
  const h = (oui >>> 0).toString(16).padStart(6, "0").slice(-6);
  return `${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/** passes everything on, prefixing problems with where the vendor data was, and counts them */
class VendorContext implements DecodeContext {
  errors = 0;
  constructor(private readonly inner: DecodeContext, private readonly where: string) {}
  get names(): Names {
    return this.inner.names;
  }
  ifname(index: number) {
    return this.inner.ifname(index);
  }
  setIfname(index: number, name: string | undefined) {
    this.inner.setIfname(index, name);
  }
  error(kind: DecodeErrorKind, detail: string) {
    this.errors++;
    this.inner.error(kind, `${this.where}: ${detail}`);
  }
  unknownAttr(where: string, type: number) {
    this.inner.unknownAttr(where, type);
  }
}

function bytesHex(dv: DataView, off: number, end: number): string {
  return hex(new Uint8Array(dv.buffer, dv.byteOffset + off, end - off));
}

/** what the decoded data gains from other tables: the text iw prints for an 802.11 status */
function amend(oui: number, subcmd: number, data: Record<string, unknown>) {
  if (oui === OUI_QCA && subcmd === QCA_NL80211_VENDOR_SUBCMD_KEY_MGMT_ROAM_AUTH && typeof data.status === "number") {
    const text = STATUS_CODES[data.status];
    if (text !== undefined) data.status_text = text;
  }
}

/**
 * A vendor message's identity and data. `dv` undefined: the message had no NL80211_ATTR_VENDOR_DATA.
 * [off, end) is the attribute's payload.
 */
export function decodeVendor(oui: number, subcmd: number, dv: DataView | undefined, off: number, end: number, ctx: DecodeContext): VendorInfo {
  const oui_hex = ouiHex(oui);
  const vendor = VENDORS[oui];
  // built in one go so every event's keys come in the same order
  const info: VendorInfo = vendor !== undefined ? { oui, oui_hex, vendor, subcmd } : { oui, oui_hex, subcmd };
  if (oui === OUI_QCA) {
    const name = QCA_SUBCMDS[subcmd];
    if (name !== undefined) info.subcmd_name = name;
  }
  if (dv === undefined) return info;
  const what = `nl80211 vendor ${vendor ?? info.oui_hex} subcmd ${info.subcmd_name ?? subcmd} (${info.oui_hex}/${subcmd})`;
  if (!(off >= 0 && end >= off && end <= dv.byteLength)) {
    // the caller's bounds do not fit the buffer: nothing can be read safely
    const have = Math.max(0, Math.min(end, dv.byteLength) - Math.max(0, off));
    ctx.error("truncated", `${what}: vendor data at bytes ${off}..${end} is outside the ${dv.byteLength}-byte buffer`);
    info.data_hex = have > 0 ? bytesHex(dv, Math.max(0, off), Math.max(0, off) + have) : "";
    return info;
  }
  const set = oui === OUI_QCA ? QCA_SETS[subcmd] : undefined;
  if (set === undefined) {
    info.data_hex = bytesHex(dv, off, end);
    return info;
  }
  const vctx = new VendorContext(ctx, `${what}, vendor data at bytes ${off}..${end}`);
  try {
    const data = compileSet(set)(dv, off, end, vctx);
    amend(oui, subcmd, data);
    info.data = data;
  } catch (e) {
    // the decoders report rather than throw; this is the last guard
    vctx.error("bad_length", `decoding failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (vctx.errors > 0) info.data_hex = bytesHex(dv, off, end);
  return info;
}
