/**
 * QCA_NL80211_VENDOR_SUBCMD_GET_STA_INFO (186): a station's counters and state, with the per-NSS,
 * per-MCS and per-bandwidth packet counts, CCA and beacon-miss records, and per-link statistics of
 * an MLO connection (nests of this same set).
 */
import * as Q from "../qca-vendor.gen.ts";
import { NAMES } from "../../../uapi/nl80211.gen.ts";
import { bitNames, blob, mac, qcaSet, shortNames, u32, u8, valueNames } from "./common.ts";
import { ROAM_FAIL_REASONS, ROAM_INVOKE_FAIL_REASONS, ROAM_TRIGGERS } from "./roam-events.ts";

const u64 = (name: string) => ({ name, type: "u64" as const });

export const NSS_PKT_ATTRS = qcaSet("sta_info.nss_pkt", "qca_wlan_vendor_attr_nss_pkt", {
  [Q.QCA_WLAN_VENDOR_ATTR_NSS_PKT_NSS_VALUE]: u8("nss"),
  [Q.QCA_WLAN_VENDOR_ATTR_NSS_PKT_TX_PACKET_COUNT]: u64("tx_packets"),
  [Q.QCA_WLAN_VENDOR_ATTR_NSS_PKT_RX_PACKET_COUNT]: u64("rx_packets"),
});

export const MCS_PKT_ATTRS = qcaSet("sta_info.mcs_pkt", "qca_wlan_vendor_attr_mcs_pkt", {
  [Q.QCA_WLAN_VENDOR_ATTR_MCS_PKT_MCS_INDEX]: u8("mcs"),
  [Q.QCA_WLAN_VENDOR_ATTR_MCS_PKT_TX_PACKET_COUNT]: u64("tx_packets"),
  [Q.QCA_WLAN_VENDOR_ATTR_MCS_PKT_RX_PACKET_COUNT]: u64("rx_packets"),
});

export const BW_PKT_ATTRS = qcaSet("sta_info.bw_pkt", "qca_wlan_vendor_attr_bw_pkt", {
  // u8, enum nl80211_chan_width
  [Q.QCA_WLAN_VENDOR_ATTR_BW_PKT_BW_CHAN_WIDTH]: { name: "width", type: "u8", enum: shortNames(NAMES.nl80211_chan_width) },
  [Q.QCA_WLAN_VENDOR_ATTR_BW_PKT_TX_PACKET_COUNT]: u64("tx_packets"),
  [Q.QCA_WLAN_VENDOR_ATTR_BW_PKT_RX_PACKET_COUNT]: u64("rx_packets"),
});

export const CCA_STAT_ATTRS = qcaSet("sta_info.cca_stat", "qca_wlan_vendor_attr_cca_stat", {
  [Q.QCA_WLAN_VENDOR_ATTR_CCA_STAT_LINK_ID]: u8("link_id"),
  // milliseconds
  [Q.QCA_WLAN_VENDOR_ATTR_CCA_STAT_ON_TIME]: u32("on_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_CCA_STAT_BUSY_TIME]: u32("busy_time"),
});

export const BEACON_MISS_STAT_ATTRS = qcaSet("sta_info.beacon_miss_stat", "qca_wlan_vendor_attr_beacon_miss_stat", {
  [Q.QCA_WLAN_VENDOR_ATTR_BEACON_MISS_STAT_LINK_ID]: u8("link_id"),
  // one bit per TBTT slot, 1 = missed, newest in bit 0 of the first byte
  [Q.QCA_WLAN_VENDOR_ATTR_BEACON_MISS_STAT_DATA]: blob("data"),
});

export const STA_INFO_ATTRS = qcaSet("sta_info", "qca_wlan_vendor_attr_get_sta_info", {
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MAC]: mac("mac"),
  // u32, bits of enum qca_vendor_wlan_sta_flags
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_FLAGS]: { name: "flags", type: "u32", flags: bitNames(Q.QCA_ENUMS.qca_vendor_wlan_sta_flags) },
  // u32, enum qca_vendor_wlan_sta_guard_interval
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_GUARD_INTERVAL]: { name: "guard_interval", type: "u32", enum: valueNames("qca_vendor_wlan_sta_guard_interval") },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_RETRY_COUNT]: u32("rx_retry_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_BC_MC_COUNT]: u32("rx_bc_mc_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_RETRY_SUCCEED]: u32("tx_retry_succeed"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_RETRY_EXHAUSTED]: u32("tx_retry_exhausted"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_TX_TOTAL]: u32("target_tx_total"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_TX_RETRY]: u32("target_tx_retry"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_TX_RETRY_EXHAUSTED]: u32("target_tx_retry_exhausted"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_PROBE_REQ_BMISS_COUNT]: u32("tx_probe_req_bmiss_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_PROBE_RESP_BMISS_COUNT]: u32("rx_probe_resp_bmiss_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_TX_ALL_COUNT]: u32("target_tx_all_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_RTS_COUNT]: u32("tx_rts_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_RTS_RETRY_FAIL_COUNT]: u32("tx_rts_retry_fail_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_DATA_NON_AGGREGATED_COUNT]: u32("tx_data_non_aggregated_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_DATA_AGGREGATED_COUNT]: u32("tx_data_aggregated_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_FRAMES_GOOD_PLCP_COUNT]: u32("rx_frames_good_plcp_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_FRAMES_INVALID_DELIMITER_COUNT]: u32("rx_frames_invalid_delimiter_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_FRAMES_CRC_FAIL_COUNT]: u32("rx_frames_crc_fail_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_ACKS_GOOD_FCS_COUNT]: u32("rx_acks_good_fcs_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_BLOCKACK_COUNT]: u32("rx_blockack_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_BEACON_COUNT]: u32("rx_beacon_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_OTHER_BEACON_COUNT]: u32("rx_other_beacon_count"),
  // the one u64 among the counters
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_UCAST_DATA_GOOD_FCS_COUNT]: u64("rx_ucast_data_good_fcs_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_DATA_BC_MC_DROP_COUNT]: u32("rx_data_bc_mc_drop_count"),
  // dBm
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_POWER_24G_1MBPS]: u32("target_power_24g_1mbps"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_POWER_24G_6MBPS]: u32("target_power_24g_6mbps"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_POWER_24G_MCS0]: u32("target_power_24g_mcs0"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_POWER_5G_6MBPS]: u32("target_power_5g_6mbps"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TARGET_POWER_5G_MCS0]: u32("target_power_5g_mcs0"),
  // a nest of u32 counts, one per hardware receive buffer
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_HW_BUFFERS_OVERFLOW_COUNT]: { name: "rx_hw_buffers_overflow_count", type: "indexed-array" },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MAX_TX_POWER]: u32("max_tx_power"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_LATEST_TX_POWER]: u32("latest_tx_power"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_ANI_LEVEL]: u32("ani_level"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BEACON_IES]: blob("beacon_ies"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_PROBE_RESP_IES]: blob("probe_resp_ies"),
  // u32, enum qca_disconnect_reason_codes
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_DRIVER_DISCONNECT_REASON]: { name: "driver_disconnect_reason", type: "u32", enum: valueNames("qca_disconnect_reason_codes") },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BIP_MIC_ERROR_COUNT]: u32("bip_mic_error_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BIP_REPLAY_COUNT]: u32("bip_replay_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BEACON_MIC_ERROR_COUNT]: u32("beacon_mic_error_count"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BEACON_REPLAY_COUNT]: u32("beacon_replay_count"),
  // u32, enum qca_sta_connect_fail_reason_codes
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_CONNECT_FAIL_REASON_CODE]: { name: "connect_fail_reason", type: "u32", enum: valueNames("qca_sta_connect_fail_reason_codes") },
  // kbit/s
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_LATEST_TX_RATE]: u32("latest_tx_rate"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_LATEST_RIX]: u32("latest_rix"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TSF_OUT_OF_SYNC_COUNT]: u32("tsf_out_of_sync_count"),
  // u32, bits of enum qca_vendor_roam_triggers
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_ROAM_TRIGGER_REASON]: { name: "roam_trigger_reason", type: "u32", flags: ROAM_TRIGGERS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_ROAM_FAIL_REASON]: { name: "roam_fail_reason", type: "u32", enum: ROAM_FAIL_REASONS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_ROAM_INVOKE_FAIL_REASON]: { name: "roam_invoke_fail_reason", type: "u32", enum: ROAM_INVOKE_FAIL_REASONS },
  // milliseconds
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_UPLINK_DELAY]: u32("uplink_delay"),
  // nests of u32, index = MCS
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_PER_MCS_TX_PACKETS]: { name: "per_mcs_tx_packets", type: "indexed-array" },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_PER_MCS_RX_PACKETS]: { name: "per_mcs_rx_packets", type: "indexed-array" },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_UPLINK_DELAY_JITTER]: u32("uplink_delay_jitter"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_NSS_PKT_COUNT]: { name: "nss_pkt_count", type: "indexed-array", nested: NSS_PKT_ATTRS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MCS_PKT_COUNT]: { name: "mcs_pkt_count", type: "indexed-array", nested: MCS_PKT_ATTRS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BW_PKT_COUNT]: { name: "bw_pkt_count", type: "indexed-array", nested: BW_PKT_ATTRS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_CCA_STAT]: { name: "cca_stat", type: "indexed-array", nested: CCA_STAT_ATTRS },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_BEACON_MISS_STAT]: { name: "beacon_miss_stat", type: "indexed-array", nested: BEACON_MISS_STAT_ATTRS },
  // filled in below: nests of this same set
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MLO_LINKS]: { name: "mlo_links", type: "indexed-array" },
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MLO_LINK_ID]: u8("mlo_link_id"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_NSS]: u8("tx_nss"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_NSS]: u8("rx_nss"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_TX_CHAINS]: u8("tx_chains"),
  [Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_RX_CHAINS]: u8("rx_chains"),
});
STA_INFO_ATTRS.attrs[Q.QCA_WLAN_VENDOR_ATTR_GET_STA_INFO_MLO_LINKS]!.nested = STA_INFO_ATTRS;
