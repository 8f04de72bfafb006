/**
 * nl80211's attribute sets as data: the attributes its events carry (what `iw event` prints and
 * more), the station information nest, bit rates and CQM. Types are the kernel's (nl80211.h's
 * documentation and its policy); numbers and names come from the header through gen-uapi. Every
 * other attribute the header names is known but left out of the event.
 */
import type { AttrDef, AttrSet } from "../../decode/attrset.ts";
import { knownSet } from "../../decode/attrset.ts";
import * as U from "../../uapi/nl80211.gen.ts";
import { AUTH_TYPE, CHAN_WIDTH, CHANNEL_TYPE, CQM_RSSI_EVENT, IFTYPE, REG_INITIATOR, REG_TYPE, STA_FLAG, TIMEOUT_REASON } from "./names.ts";
import { ssidText } from "./frame.ts";

const N = U.NAMES;

const RATE_INFO: AttrSet = knownSet("nl80211.rate_info", N.nl80211_rate_info, {
  [U.NL80211_RATE_INFO_BITRATE]: { name: "bitrate", type: "u16" },
  [U.NL80211_RATE_INFO_BITRATE32]: { name: "bitrate32", type: "u32" },
  [U.NL80211_RATE_INFO_MCS]: { name: "mcs", type: "u8" },
  [U.NL80211_RATE_INFO_40_MHZ_WIDTH]: { name: "width_40", type: "flag" },
  [U.NL80211_RATE_INFO_80_MHZ_WIDTH]: { name: "width_80", type: "flag" },
  [U.NL80211_RATE_INFO_80P80_MHZ_WIDTH]: { name: "width_80p80", type: "flag" },
  [U.NL80211_RATE_INFO_160_MHZ_WIDTH]: { name: "width_160", type: "flag" },
  [U.NL80211_RATE_INFO_SHORT_GI]: { name: "short_gi", type: "flag" },
  [U.NL80211_RATE_INFO_VHT_MCS]: { name: "vht_mcs", type: "u8" },
  [U.NL80211_RATE_INFO_VHT_NSS]: { name: "vht_nss", type: "u8" },
  [U.NL80211_RATE_INFO_HE_MCS]: { name: "he_mcs", type: "u8" },
  [U.NL80211_RATE_INFO_HE_NSS]: { name: "he_nss", type: "u8" },
  [U.NL80211_RATE_INFO_HE_GI]: { name: "he_gi", type: "u8" },
});

const BSS_PARAM: AttrSet = knownSet("nl80211.sta_bss_param", N.nl80211_sta_bss_param, {
  [U.NL80211_STA_BSS_PARAM_CTS_PROT]: { name: "cts_prot", type: "flag" },
  [U.NL80211_STA_BSS_PARAM_SHORT_PREAMBLE]: { name: "short_preamble", type: "flag" },
  [U.NL80211_STA_BSS_PARAM_SHORT_SLOT_TIME]: { name: "short_slot_time", type: "flag" },
  [U.NL80211_STA_BSS_PARAM_DTIM_PERIOD]: { name: "dtim_period", type: "u8" },
  [U.NL80211_STA_BSS_PARAM_BEACON_INTERVAL]: { name: "beacon_interval", type: "u16" },
});

/** struct nl80211_sta_flag_update: which flags the kernel reports (mask) and which of them are set */
function staFlags(dv: DataView, off: number, len: number): { mask: string[]; set: string[] } | undefined {
  if (len < U.SIZEOF.nl80211_sta_flag_update) return undefined;
  const names = (bits: number) => {
    const out: string[] = [];
    for (let b = 1; b < 32; b++) if (bits & (1 << b)) out.push(STA_FLAG[b] ?? String(b));
    return out;
  };
  return {
    mask: names(dv.getUint32(off + U.OFFSETOF["nl80211_sta_flag_update.mask"], true)),
    set: names(dv.getUint32(off + U.OFFSETOF["nl80211_sta_flag_update.set"], true)),
  };
}

/** signal levels travel as u8 holding a signed dBm */
const dbm: AttrDef["parse"] = (dv, off, len) => (len >= 1 ? dv.getInt8(off) : undefined);

export const STA_INFO: AttrSet = knownSet("nl80211.sta_info", N.nl80211_sta_info, {
  [U.NL80211_STA_INFO_INACTIVE_TIME]: { name: "inactive_time", type: "u32" },
  [U.NL80211_STA_INFO_RX_BYTES]: { name: "rx_bytes", type: "u32" },
  [U.NL80211_STA_INFO_TX_BYTES]: { name: "tx_bytes", type: "u32" },
  [U.NL80211_STA_INFO_RX_BYTES64]: { name: "rx_bytes64", type: "u64" },
  [U.NL80211_STA_INFO_TX_BYTES64]: { name: "tx_bytes64", type: "u64" },
  [U.NL80211_STA_INFO_SIGNAL]: { name: "signal", type: "binary", parse: dbm },
  [U.NL80211_STA_INFO_SIGNAL_AVG]: { name: "signal_avg", type: "binary", parse: dbm },
  [U.NL80211_STA_INFO_BEACON_SIGNAL_AVG]: { name: "beacon_signal_avg", type: "binary", parse: dbm },
  [U.NL80211_STA_INFO_ACK_SIGNAL]: { name: "ack_signal", type: "binary", parse: dbm },
  [U.NL80211_STA_INFO_TX_BITRATE]: { name: "tx_bitrate", type: "nest", nested: RATE_INFO },
  [U.NL80211_STA_INFO_RX_BITRATE]: { name: "rx_bitrate", type: "nest", nested: RATE_INFO },
  [U.NL80211_STA_INFO_RX_PACKETS]: { name: "rx_packets", type: "u32" },
  [U.NL80211_STA_INFO_TX_PACKETS]: { name: "tx_packets", type: "u32" },
  [U.NL80211_STA_INFO_TX_RETRIES]: { name: "tx_retries", type: "u32" },
  [U.NL80211_STA_INFO_TX_FAILED]: { name: "tx_failed", type: "u32" },
  [U.NL80211_STA_INFO_BSS_PARAM]: { name: "bss_param", type: "nest", nested: BSS_PARAM },
  [U.NL80211_STA_INFO_CONNECTED_TIME]: { name: "connected_time", type: "u32" },
  [U.NL80211_STA_INFO_STA_FLAGS]: { name: "sta_flags", type: "binary", parse: staFlags },
  [U.NL80211_STA_INFO_BEACON_LOSS]: { name: "beacon_loss", type: "u32" },
  [U.NL80211_STA_INFO_BEACON_RX]: { name: "beacon_rx", type: "u64" },
  [U.NL80211_STA_INFO_RX_DROP_MISC]: { name: "rx_drop_misc", type: "u64" },
  [U.NL80211_STA_INFO_EXPECTED_THROUGHPUT]: { name: "expected_throughput", type: "u32" },
  [U.NL80211_STA_INFO_RX_DURATION]: { name: "rx_duration", type: "u64" },
  [U.NL80211_STA_INFO_TX_DURATION]: { name: "tx_duration", type: "u64" },
  [U.NL80211_STA_INFO_ASSOC_AT_BOOTTIME]: { name: "assoc_at_boottime", type: "u64" },
});

const CQM: AttrSet = knownSet("nl80211.cqm", N.nl80211_attr_cqm, {
  [U.NL80211_ATTR_CQM_RSSI_THOLD]: { name: "rssi_thold", type: "s32" },
  [U.NL80211_ATTR_CQM_RSSI_HYST]: { name: "rssi_hyst", type: "u32" },
  [U.NL80211_ATTR_CQM_RSSI_THRESHOLD_EVENT]: { name: "rssi_threshold_event", type: "u32", enum: CQM_RSSI_EVENT },
  [U.NL80211_ATTR_CQM_PKT_LOSS_EVENT]: { name: "pkt_loss_event", type: "u32" },
  [U.NL80211_ATTR_CQM_TXE_RATE]: { name: "txe_rate", type: "u32" },
  [U.NL80211_ATTR_CQM_TXE_PKTS]: { name: "txe_pkts", type: "u32" },
  [U.NL80211_ATTR_CQM_TXE_INTVL]: { name: "txe_intvl", type: "u32" },
  [U.NL80211_ATTR_CQM_BEACON_LOSS_EVENT]: { name: "beacon_loss_event", type: "flag" },
  [U.NL80211_ATTR_CQM_RSSI_LEVEL]: { name: "rssi_level", type: "s32" },
});

/** a list of frequencies or SSIDs: a nest whose members' types are just their positions */
function members<T>(read: (dv: DataView, off: number, len: number) => T | undefined): AttrDef["parse"] {
  return (dv, off, len) => {
    const out: T[] = [];
    for (let p = off; p + 4 <= off + len;) {
      const l = dv.getUint16(p, true);
      if (l < 4 || p + l > off + len) return undefined;
      const v = read(dv, p + 4, l - 4);
      if (v === undefined) return undefined;
      out.push(v);
      p += (l + 3) & ~3;
    }
    return out;
  };
}

/** a channel as beacon hints describe it, before and after */
const FREQ: AttrSet = knownSet("nl80211.frequency", N.nl80211_frequency_attr, {
  [U.NL80211_FREQUENCY_ATTR_FREQ]: { name: "freq", type: "u32" },
  [U.NL80211_FREQUENCY_ATTR_DISABLED]: { name: "disabled", type: "flag" },
  [U.NL80211_FREQUENCY_ATTR_NO_IR]: { name: "no_ir", type: "flag" },
  [U.NL80211_FREQUENCY_ATTR_RADAR]: { name: "radar", type: "flag" },
});

const mac: Pick<AttrDef, "type" | "display"> = { type: "binary", display: "mac" };

/** the top-level attributes, with the names nl80211.h gives them (lowercased, without NL80211_ATTR_) */
export const NL80211_ATTRS: AttrSet = knownSet("nl80211", N.nl80211_attr, {
  [U.NL80211_ATTR_WIPHY]: { name: "wiphy", type: "u32" },
  [U.NL80211_ATTR_WIPHY_NAME]: { name: "wiphy_name", type: "string" },
  [U.NL80211_ATTR_IFINDEX]: { name: "ifindex", type: "u32" },
  [U.NL80211_ATTR_IFNAME]: { name: "ifname", type: "string" },
  [U.NL80211_ATTR_IFTYPE]: { name: "iftype", type: "u32", enum: IFTYPE },
  [U.NL80211_ATTR_WDEV]: { name: "wdev", type: "u64" },
  [U.NL80211_ATTR_MAC]: { name: "mac", ...mac },
  [U.NL80211_ATTR_GENERATION]: { name: "generation", type: "u32" },
  [U.NL80211_ATTR_WIPHY_FREQ]: { name: "wiphy_freq", type: "u32" },
  [U.NL80211_ATTR_WIPHY_FREQ_OFFSET]: { name: "wiphy_freq_offset", type: "u32" },
  [U.NL80211_ATTR_WIPHY_CHANNEL_TYPE]: { name: "channel_type", type: "u32", enum: CHANNEL_TYPE },
  [U.NL80211_ATTR_CHANNEL_WIDTH]: { name: "channel_width", type: "u32", enum: CHAN_WIDTH },
  [U.NL80211_ATTR_CENTER_FREQ1]: { name: "center_freq1", type: "u32" },
  [U.NL80211_ATTR_CENTER_FREQ2]: { name: "center_freq2", type: "u32" },
  [U.NL80211_ATTR_CH_SWITCH_COUNT]: { name: "ch_switch_count", type: "u32" },
  [U.NL80211_ATTR_SSID]: { name: "ssid", type: "binary", parse: (dv, off, len) => ssidText(dv, off, len) },
  [U.NL80211_ATTR_STA_INFO]: { name: "sta_info", type: "nest", nested: STA_INFO },
  [U.NL80211_ATTR_REASON_CODE]: { name: "reason_code", type: "u16" },
  [U.NL80211_ATTR_STATUS_CODE]: { name: "status_code", type: "u16" },
  [U.NL80211_ATTR_DISCONNECTED_BY_AP]: { name: "disconnected_by_ap", type: "flag" },
  [U.NL80211_ATTR_TIMED_OUT]: { name: "timed_out", type: "flag" },
  [U.NL80211_ATTR_TIMEOUT_REASON]: { name: "timeout_reason", type: "u32", enum: TIMEOUT_REASON },
  [U.NL80211_ATTR_AUTH_TYPE]: { name: "auth_type", type: "u32", enum: AUTH_TYPE },
  [U.NL80211_ATTR_REG_INITIATOR]: { name: "reg_initiator", type: "u8", enum: REG_INITIATOR },
  [U.NL80211_ATTR_REG_TYPE]: { name: "reg_type", type: "u8", enum: REG_TYPE },
  [U.NL80211_ATTR_REG_ALPHA2]: { name: "reg_alpha2", type: "string" },
  [U.NL80211_ATTR_USER_REG_HINT_TYPE]: { name: "user_reg_hint_type", type: "u32" },
  [U.NL80211_ATTR_SCAN_FREQUENCIES]: { name: "scan_frequencies", type: "binary", parse: members((dv, o, l) => (l >= 4 ? dv.getUint32(o, true) : undefined)) },
  [U.NL80211_ATTR_SCAN_SSIDS]: { name: "scan_ssids", type: "binary", parse: members((dv, o, l) => ssidText(dv, o, l)) },
  [U.NL80211_ATTR_COOKIE]: { name: "cookie", type: "u64" },
  [U.NL80211_ATTR_ACK]: { name: "ack", type: "flag" },
  [U.NL80211_ATTR_CQM]: { name: "cqm", type: "nest", nested: CQM },
  [U.NL80211_ATTR_KEY_TYPE]: { name: "key_type", type: "u32" },
  [U.NL80211_ATTR_KEY_IDX]: { name: "key_idx", type: "u8" },
  [U.NL80211_ATTR_KEY_SEQ]: { name: "key_seq", type: "binary", display: "hex" },
  [U.NL80211_ATTR_PORT_AUTHORIZED]: { name: "port_authorized", type: "flag" },
  [U.NL80211_ATTR_MLO_LINK_ID]: { name: "mlo_link_id", type: "u8" },
  [U.NL80211_ATTR_RX_SIGNAL_DBM]: { name: "rx_signal_dbm", type: "s32" },
  [U.NL80211_ATTR_VENDOR_ID]: { name: "vendor_id", type: "u32" },
  [U.NL80211_ATTR_VENDOR_SUBCMD]: { name: "vendor_subcmd", type: "u32" },
  // these four are kept as where their bytes are, for index.ts to read: vendor data by its OUI and
  // subcommand (vendor.ts), the management frame (frame.ts), information elements for the SSID
  [U.NL80211_ATTR_VENDOR_DATA]: { name: "vendor_data", type: "binary", parse: (_dv, off, len) => ({ off, len }) },
  [U.NL80211_ATTR_FRAME]: { name: "frame", type: "binary", parse: (_dv, off, len) => ({ off, len }) },
  [U.NL80211_ATTR_IE]: { name: "ie", type: "binary", parse: (_dv, off, len) => ({ off, len }) },
  [U.NL80211_ATTR_REQ_IE]: { name: "req_ie", type: "binary", parse: (_dv, off, len) => ({ off, len }) },
  [U.NL80211_ATTR_RESP_IE]: { name: "resp_ie", type: "binary", parse: (_dv, off, len) => ({ off, len }) },
  [U.NL80211_ATTR_FREQ_BEFORE]: { name: "freq_before", type: "nest", nested: FREQ },
  [U.NL80211_ATTR_FREQ_AFTER]: { name: "freq_after", type: "nest", nested: FREQ },
});
