/**
 * QCA_NL80211_VENDOR_SUBCMD_LL_STATS_EXT (127): MAC layer counters the firmware reports
 * periodically or when a threshold is crossed. The header names most counters without a width,
 * so they are read as 1/2/4/8-byte integers; the "stats buffers" (aggregation, MCS, delay) are
 * kept as bytes. PEER, CCA_BSS and PEER_SIGNAL hold per-peer, per-channel and per-antenna
 * entries: arrays of nests of this same set.
 */
import * as Q from "../qca-vendor.gen.ts";
import type { AttrDef } from "../../../decode/attrset.ts";
import { blob, mac, qcaSet, uint } from "./common.ts";

const list = (name: string): AttrDef => ({ name, type: "indexed-array" });

export const LL_STATS_EXT_ATTRS = qcaSet("ll_stats_ext", "qca_wlan_vendor_attr_ll_stats_ext", {
  // milliseconds
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CFG_PERIOD]: uint("cfg_period"),
  // percent
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_CFG_THRESHOLD]: uint("cfg_threshold"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_PS_CHG]: uint("peer_ps_chg"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TID]: uint("tid"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_NUM_MSDU]: uint("num_msdu"),
  // 1 discarded, 2 no ACK, 3 postponed
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_STATUS]: uint("tx_status"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_PS_STATE]: uint("peer_ps_state"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_MAC_ADDRESS]: mac("peer_mac"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_GLOBAL]: uint("global_threshold"),
  // 1 periodic timeout, 0 threshold exceeded
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_EVENT_MODE]: uint("event_mode"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_IFACE_ID]: uint("iface_id"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_ID]: uint("peer_id"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_BITMAP]: uint("tx_bitmap"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_BITMAP]: uint("rx_bitmap"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_CCA_BSS_BITMAP]: uint("cca_bss_bitmap"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_SIGNAL_BITMAP]: uint("signal_bitmap"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_NUM]: uint("peer_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_CHANNEL_NUM]: uint("channel_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_CCA_BSS]: list("cca_bss"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER]: list("peers"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_MSDU]: uint("tx_msdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_MPDU]: uint("tx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_PPDU]: uint("tx_ppdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_BYTES]: uint("tx_bytes"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_DROP]: uint("tx_drop"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_DROP_BYTES]: uint("tx_drop_bytes"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_RETRY]: uint("tx_retry"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_NO_ACK]: uint("tx_no_ack"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_NO_BACK]: uint("tx_no_back"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_AGGR_NUM]: uint("tx_aggr_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_SUCC_MCS_NUM]: uint("tx_succ_mcs_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_FAIL_MCS_NUM]: uint("tx_fail_mcs_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_AGGR]: blob("tx_aggr"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_SUCC_MCS]: blob("tx_succ_mcs"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_FAIL_MCS]: blob("tx_fail_mcs"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_DELAY_ARRAY_SIZE]: uint("delay_array_size"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_DELAY]: blob("tx_delay"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU]: uint("rx_mpdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU_BYTES]: uint("rx_mpdu_bytes"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_PPDU]: uint("rx_ppdu"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_PPDU_BYTES]: uint("rx_ppdu_bytes"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU_LOST]: uint("rx_mpdu_lost"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU_RETRY]: uint("rx_mpdu_retry"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU_DUP]: uint("rx_mpdu_dup"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MPDU_DISCARD]: uint("rx_mpdu_discard"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_AGGR_NUM]: uint("rx_aggr_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MCS_NUM]: uint("rx_mcs_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MCS]: blob("rx_mcs"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_AGGR]: blob("rx_aggr"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_PS_TIMES]: uint("peer_ps_times"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_PS_DURATION]: uint("peer_ps_duration"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_PROBE_REQ]: uint("rx_probe_req"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_MGMT]: uint("rx_mgmt"),
  // percentages of time
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_IDLE_TIME]: uint("idle_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_TIME]: uint("tx_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_TIME]: uint("rx_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_BUSY]: uint("rx_busy"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_RX_BAD]: uint("rx_bad"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_TX_BAD]: uint("tx_bad"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_NO_AVAIL]: uint("no_avail"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_IN_BSS_TIME]: uint("in_bss_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_OUT_BSS_TIME]: uint("out_bss_time"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_ANT_NUM]: uint("peer_ant_num"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_SIGNAL]: list("peer_signal"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_ANT_SNR]: uint("ant_snr"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_ANT_NF]: uint("ant_nf"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_IFACE_RSSI_BEACON]: uint("iface_rssi_beacon"),
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_IFACE_SNR_BEACON]: uint("iface_snr_beacon"),
  // u64, milliseconds since 1970-01-01
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_REPORT_TIME]: { name: "report_time", type: "u64" },
  // u32, microseconds
  [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_MEASUREMENT_TIME]: { name: "measurement_time", type: "u32" },
});

for (const n of [Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_CCA_BSS, Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER, Q.QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_PEER_SIGNAL]) {
  LL_STATS_EXT_ATTRS.attrs[n]!.nested = LL_STATS_EXT_ATTRS;
}
