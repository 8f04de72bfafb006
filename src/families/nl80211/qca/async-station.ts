/**
 * QCA_NL80211_VENDOR_SUBCMD_ASYNC_GET_STATION (243): an NL80211_CMD_GET_STATION answer sent as a
 * vendor event. Its RESPONSE nest holds nl80211's own attributes: NL80211_ATTR_MAC and
 * NL80211_ATTR_STA_INFO (enum nl80211_sta_info). The station fields decoded here are the common
 * ones; their types are those of <linux/nl80211.h> (signal strengths are dBm in a u8, read signed
 * as iw does).
 */
import {
  NAMES, NL80211_ATTR_MAC, NL80211_ATTR_STA_INFO, NL80211_RATE_INFO_160_MHZ_WIDTH, NL80211_RATE_INFO_40_MHZ_WIDTH,
  NL80211_RATE_INFO_80_MHZ_WIDTH, NL80211_RATE_INFO_BITRATE, NL80211_RATE_INFO_BITRATE32, NL80211_RATE_INFO_EHT_MCS,
  NL80211_RATE_INFO_EHT_NSS, NL80211_RATE_INFO_HE_MCS, NL80211_RATE_INFO_HE_NSS, NL80211_RATE_INFO_MCS, NL80211_RATE_INFO_SHORT_GI,
  NL80211_RATE_INFO_VHT_MCS, NL80211_RATE_INFO_VHT_NSS, NL80211_STA_INFO_ACK_SIGNAL, NL80211_STA_INFO_ACK_SIGNAL_AVG,
  NL80211_STA_INFO_ASSOC_AT_BOOTTIME, NL80211_STA_INFO_BEACON_LOSS, NL80211_STA_INFO_BEACON_RX, NL80211_STA_INFO_BEACON_SIGNAL_AVG,
  NL80211_STA_INFO_CONNECTED_TIME, NL80211_STA_INFO_EXPECTED_THROUGHPUT, NL80211_STA_INFO_FCS_ERROR_COUNT,
  NL80211_STA_INFO_INACTIVE_TIME, NL80211_STA_INFO_RX_BITRATE, NL80211_STA_INFO_RX_BYTES, NL80211_STA_INFO_RX_BYTES64,
  NL80211_STA_INFO_RX_DROP_MISC, NL80211_STA_INFO_RX_DURATION, NL80211_STA_INFO_RX_MPDUS, NL80211_STA_INFO_RX_PACKETS,
  NL80211_STA_INFO_SIGNAL, NL80211_STA_INFO_SIGNAL_AVG, NL80211_STA_INFO_TX_BITRATE, NL80211_STA_INFO_TX_BYTES,
  NL80211_STA_INFO_TX_BYTES64, NL80211_STA_INFO_TX_DURATION, NL80211_STA_INFO_TX_FAILED, NL80211_STA_INFO_TX_PACKETS,
  NL80211_STA_INFO_TX_RETRIES,
} from "../../../uapi/nl80211.gen.ts";
import { knownSet } from "../../../decode/attrset.ts";
import { QCA_WLAN_VENDOR_ATTR_ASYNC_GET_STATION_CONFIG, QCA_WLAN_VENDOR_ATTR_ASYNC_GET_STATION_RESPONSE } from "../qca-vendor.gen.ts";
import { mac, qcaSet, u32, u8 } from "./common.ts";

const u64 = (name: string) => ({ name, type: "u64" as const });
const dbm = (name: string) => ({ name, type: "s8" as const });
const flag = (name: string) => ({ name, type: "flag" as const });

export const RATE_INFO_ATTRS = knownSet("nl80211.vendor.qca.async_get_station.rate_info", NAMES.nl80211_rate_info, {
  // 100 kbit/s
  [NL80211_RATE_INFO_BITRATE]: { name: "bitrate", type: "u16" },
  [NL80211_RATE_INFO_BITRATE32]: u32("bitrate32"),
  [NL80211_RATE_INFO_MCS]: u8("mcs"),
  [NL80211_RATE_INFO_40_MHZ_WIDTH]: flag("40_mhz"),
  [NL80211_RATE_INFO_80_MHZ_WIDTH]: flag("80_mhz"),
  [NL80211_RATE_INFO_160_MHZ_WIDTH]: flag("160_mhz"),
  [NL80211_RATE_INFO_SHORT_GI]: flag("short_gi"),
  [NL80211_RATE_INFO_VHT_MCS]: u8("vht_mcs"),
  [NL80211_RATE_INFO_VHT_NSS]: u8("vht_nss"),
  [NL80211_RATE_INFO_HE_MCS]: u8("he_mcs"),
  [NL80211_RATE_INFO_HE_NSS]: u8("he_nss"),
  [NL80211_RATE_INFO_EHT_MCS]: u8("eht_mcs"),
  [NL80211_RATE_INFO_EHT_NSS]: u8("eht_nss"),
});

export const STA_INFO_NL80211_ATTRS = knownSet("nl80211.vendor.qca.async_get_station.sta_info", NAMES.nl80211_sta_info, {
  [NL80211_STA_INFO_INACTIVE_TIME]: u32("inactive_time"),
  [NL80211_STA_INFO_RX_BYTES]: u32("rx_bytes"),
  [NL80211_STA_INFO_TX_BYTES]: u32("tx_bytes"),
  [NL80211_STA_INFO_SIGNAL]: dbm("signal"),
  [NL80211_STA_INFO_TX_BITRATE]: { name: "tx_bitrate", type: "nest", nested: RATE_INFO_ATTRS },
  [NL80211_STA_INFO_RX_PACKETS]: u32("rx_packets"),
  [NL80211_STA_INFO_TX_PACKETS]: u32("tx_packets"),
  [NL80211_STA_INFO_TX_RETRIES]: u32("tx_retries"),
  [NL80211_STA_INFO_TX_FAILED]: u32("tx_failed"),
  [NL80211_STA_INFO_SIGNAL_AVG]: dbm("signal_avg"),
  [NL80211_STA_INFO_RX_BITRATE]: { name: "rx_bitrate", type: "nest", nested: RATE_INFO_ATTRS },
  [NL80211_STA_INFO_CONNECTED_TIME]: u32("connected_time"),
  [NL80211_STA_INFO_BEACON_LOSS]: u32("beacon_loss"),
  [NL80211_STA_INFO_RX_BYTES64]: u64("rx_bytes64"),
  [NL80211_STA_INFO_TX_BYTES64]: u64("tx_bytes64"),
  [NL80211_STA_INFO_EXPECTED_THROUGHPUT]: u32("expected_throughput"),
  [NL80211_STA_INFO_RX_DROP_MISC]: u64("rx_drop_misc"),
  [NL80211_STA_INFO_BEACON_RX]: u64("beacon_rx"),
  [NL80211_STA_INFO_BEACON_SIGNAL_AVG]: dbm("beacon_signal_avg"),
  [NL80211_STA_INFO_RX_DURATION]: u64("rx_duration"),
  [NL80211_STA_INFO_ACK_SIGNAL]: dbm("ack_signal"),
  [NL80211_STA_INFO_ACK_SIGNAL_AVG]: dbm("ack_signal_avg"),
  [NL80211_STA_INFO_RX_MPDUS]: u32("rx_mpdus"),
  [NL80211_STA_INFO_FCS_ERROR_COUNT]: u32("fcs_error_count"),
  [NL80211_STA_INFO_TX_DURATION]: u64("tx_duration"),
  [NL80211_STA_INFO_ASSOC_AT_BOOTTIME]: u64("assoc_at_boottime"),
});

export const ASYNC_STATION_RESPONSE_ATTRS = knownSet("nl80211.vendor.qca.async_get_station.response", NAMES.nl80211_attr, {
  [NL80211_ATTR_MAC]: mac("mac"),
  [NL80211_ATTR_STA_INFO]: { name: "sta_info", type: "nest", nested: STA_INFO_NL80211_ATTRS },
});

export const ASYNC_GET_STATION_ATTRS = qcaSet("async_get_station", "qca_wlan_vendor_async_get_station_attr", {
  // u8, in the registering command only (1 enable, 0 disable)
  [QCA_WLAN_VENDOR_ATTR_ASYNC_GET_STATION_CONFIG]: u8("config"),
  [QCA_WLAN_VENDOR_ATTR_ASYNC_GET_STATION_RESPONSE]: { name: "response", type: "nest", nested: ASYNC_STATION_RESPONSE_ATTRS },
});
