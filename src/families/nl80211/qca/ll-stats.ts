/**
 * QCA_NL80211_VENDOR_SUBCMD_LL_STATS_{RADIO,IFACE,PEERS}_RESULTS (17, 18, 19): link layer
 * statistics. One attribute enum (qca_wlan_vendor_attr_ll_stats_results) serves every level:
 * channels, peers, rates, access categories and MLO links are arrays of nests of the same set.
 * Attributes the header types only as "enum wifi_*" (no width) are read as 1/2/4/8-byte integers.
 */
import * as Q from "../qca-vendor.gen.ts";
import type { AttrDef } from "../../../decode/attrset.ts";
import { blob, mac, qcaSet, u32, u32Array, u8, uint, valueNames } from "./common.ts";

export const LL_STATS_SNR_ATTRS = qcaSet("ll_stats.snr", "qca_wlan_vendor_attr_ll_stats_snr", {
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_MEAS_DUR_US]: u32("meas_dur_us"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_LOWER_BOUND]: u32("lower_bound"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_UPPER_BOUND]: u32("upper_bound"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_STEP]: u32("step"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_BIN_COUNT]: u32("bin_count"),
  // binary: BIN_COUNT u32 counts in host order
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_SNR_BIN_DATA]: { name: "bin_data", type: "binary", parse: u32Array },
});

/** an array of nests of the results set itself (filled in below, once the set exists) */
const list = (name: string): AttrDef => ({ name, type: "indexed-array" });

export const LL_STATS_ATTRS = qcaSet("ll_stats", "qca_wlan_vendor_attr_ll_stats_results", {
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RESULTS_REQ_ID]: u32("req_id"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_BEACON_RX]: u32("beacon_rx"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_MGMT_RX]: u32("mgmt_rx"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_MGMT_ACTION_RX]: u32("mgmt_action_rx"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_MGMT_ACTION_TX]: u32("mgmt_action_tx"),
  // "unsigned 32 bit" in the header
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_RSSI_MGMT]: u32("rssi_mgmt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_RSSI_DATA]: u32("rssi_data"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_RSSI_ACK]: u32("rssi_ack"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_MODE]: uint("mode"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_MAC_ADDR]: mac("mac_addr"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_STATE]: uint("state"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_ROAMING]: uint("roaming"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_CAPABILITIES]: u32("capabilities"),
  // NUL-terminated, up to 33 bytes
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_SSID]: { name: "ssid", type: "string" },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_BSSID]: mac("bssid"),
  // 3 bytes
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_AP_COUNTRY_STR]: { name: "ap_country", type: "string" },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_COUNTRY_STR]: { name: "country", type: "string" },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_AC]: uint("ac"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_TX_MPDU]: u32("tx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RX_MPDU]: u32("rx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_TX_MCAST]: u32("tx_mcast"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RX_MCAST]: u32("rx_mcast"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RX_AMPDU]: u32("rx_ampdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_TX_AMPDU]: u32("tx_ampdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_MPDU_LOST]: u32("mpdu_lost"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RETRIES]: u32("retries"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RETRIES_SHORT]: u32("retries_short"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_RETRIES_LONG]: u32("retries_long"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_CONTENTION_TIME_MIN]: u32("contention_time_min"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_CONTENTION_TIME_MAX]: u32("contention_time_max"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_CONTENTION_TIME_AVG]: u32("contention_time_avg"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_CONTENTION_NUM_SAMPLES]: u32("contention_num_samples"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_NUM_PEERS]: u32("num_peers"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_TYPE]: uint("peer_type"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_MAC_ADDRESS]: mac("peer_mac"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_CAPABILITIES]: u32("peer_capabilities"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_NUM_RATES]: u32("num_rates"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_PREAMBLE]: u8("preamble"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_NSS]: u8("nss"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_BW]: u8("bw"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_MCS_INDEX]: u8("mcs_index"),
  // 100 kbit/s
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_BIT_RATE]: u32("bit_rate"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_TX_MPDU]: u32("rate_tx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_RX_MPDU]: u32("rate_rx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_MPDU_LOST]: u32("rate_mpdu_lost"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_RETRIES]: u32("rate_retries"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_RETRIES_SHORT]: u32("rate_retries_short"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RATE_RETRIES_LONG]: u32("rate_retries_long"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ID]: u32("radio_id"),
  // milliseconds
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME]: u32("on_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_TX_TIME]: u32("tx_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_RX_TIME]: u32("rx_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_SCAN]: u32("on_time_scan"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_NBD]: u32("on_time_nbd"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_GSCAN]: u32("on_time_gscan"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_ROAM_SCAN]: u32("on_time_roam_scan"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_PNO_SCAN]: u32("on_time_pno_scan"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_ON_TIME_HS20]: u32("on_time_hs20"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_NUM_CHANNELS]: u32("num_channels"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_INFO_WIDTH]: uint("width"),
  // MHz
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_INFO_CENTER_FREQ]: u32("center_freq"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_INFO_CENTER_FREQ0]: u32("center_freq0"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_INFO_CENTER_FREQ1]: u32("center_freq1"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_ON_TIME]: u32("channel_on_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_CCA_BUSY_TIME]: u32("cca_busy_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_NUM_RADIOS]: uint("num_radios"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CH_INFO]: list("channels"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO]: list("peers"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_RATE_INFO]: list("rates"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_INFO]: list("wmm"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RESULTS_MORE_DATA]: u8("more_data"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_AVERAGE_TSF_OFFSET]: { name: "average_tsf_offset", type: "u64" },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_LEAKY_AP_DETECTED]: u32("leaky_ap_detected"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_LEAKY_AP_AVG_NUM_FRAMES_LEAKED]: u32("leaky_ap_avg_num_frames_leaked"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_LEAKY_AP_GUARD_TIME]: u32("leaky_ap_guard_time"),
  // u32, enum qca_wlan_vendor_attr_ll_stats_type
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TYPE]: { name: "type", type: "u32", enum: valueNames("qca_wlan_vendor_attr_ll_stats_type") },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_NUM_TX_LEVELS]: u32("num_tx_levels"),
  // milliseconds per power level; the element width is not stated, so the bytes are kept
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RADIO_TX_TIME_PER_LEVEL]: blob("tx_time_per_level"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_RTS_SUCC_CNT]: u32("rts_succ_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_RTS_FAIL_CNT]: u32("rts_fail_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_PPDU_SUCC_CNT]: u32("ppdu_succ_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_PPDU_FAIL_CNT]: u32("ppdu_fail_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_PENDING_MSDU]: u32("pending_msdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_TX_TIME]: u32("channel_tx_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_RX_TIME]: u32("channel_rx_time"),
  // percent
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CHANNEL_LOAD_PERCENTAGE]: u8("load_percentage"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_INFO_TS_DUTY_CYCLE]: u8("ts_duty_cycle"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TIM_BEACON]: u32("tim_beacon"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TIM_BEACON_ERR]: u32("tim_beacon_err"),
  // dBm
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_NF_CAL_VAL]: { name: "nf_cal_val", type: "s32" },
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_MLO_LINK_ID]: u8("mlo_link_id"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_MLO_LINK]: list("mlo_links"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TX_RETRY_MSDU_CNT]: u32("tx_retry_msdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TX_SUCC_MSDU_CNT]: u32("tx_succ_msdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TX_FW_DROP_MSDU_CNT]: u32("tx_fw_drop_msdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_TX_DRIVER_DROP_MSDU_CNT]: u32("tx_driver_drop_msdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RX_DRIVER_MSDU_CNT]: u32("rx_driver_msdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_RX_DRIVER_MPDU_CNT]: u32("rx_driver_mpdu_cnt"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_IFACE_SNR]: { name: "snr", type: "nest", nested: LL_STATS_SNR_ATTRS },
});

// the arrays hold nests of this same set
for (const n of [
  Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CH_INFO, Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO, Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_PEER_INFO_RATE_INFO,
  Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_INFO, Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_MLO_LINK,
]) LL_STATS_ATTRS.attrs[n]!.nested = LL_STATS_ATTRS;
