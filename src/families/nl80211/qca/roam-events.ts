/**
 * QCA_NL80211_VENDOR_SUBCMD_ROAM_EVENTS (203): what the firmware's roaming did: which kinds of
 * event this is (bits), the trigger (bits), why a roam or a roam invoke failed, the candidates
 * tried, and the roam scan's state and frequencies.
 */
import {
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_BSSID,
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_FAIL_REASON, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_FREQ,
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_RSSI, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CONFIGURE,
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_INVOKE_FAIL_REASON, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_ROAM_SCAN_FREQ_LIST,
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_ROAM_SCAN_STATE, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_SUSPEND_STATE,
  QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_TRIGGER_REASON, QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_TYPE, QCA_ENUMS,
} from "../qca-vendor.gen.ts";
import { bitNames, mac, qcaSet, u8, valueNames } from "./common.ts";

export const ROAM_FAIL_REASONS = valueNames("qca_vendor_roam_fail_reasons");
export const ROAM_INVOKE_FAIL_REASONS = valueNames("qca_vendor_roam_invoke_fail_reasons");
export const ROAM_TRIGGERS = bitNames(QCA_ENUMS.qca_vendor_roam_triggers);

export const ROAM_CANDIDATE_ATTRS = qcaSet("roam_events.candidate", "qca_wlan_vendor_attr_roam_events_candidate_info", {
  // 6-byte BSSID of the AP the roam was attempted to
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_BSSID]: mac("bssid"),
  // s32, dBm
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_RSSI]: { name: "rssi", type: "s32" },
  // u32, MHz
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_FREQ]: { name: "freq", type: "u32" },
  // u32, enum qca_vendor_roam_fail_reasons
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO_FAIL_REASON]: { name: "fail_reason", type: "u32", enum: ROAM_FAIL_REASONS },
});

export const ROAM_EVENTS_ATTRS = qcaSet("roam_events", "qca_wlan_vendor_attr_roam_events", {
  // u8, in requests only (1 enable, 0 disable)
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CONFIGURE]: u8("configure"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_SUSPEND_STATE]: { name: "suspend_state", type: "flag" },
  // u32, bits of enum qca_wlan_vendor_roam_event_type
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_TYPE]: { name: "type", type: "u32", flags: bitNames(QCA_ENUMS.qca_wlan_vendor_roam_event_type) },
  // u32, bits of enum qca_vendor_roam_triggers
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_TRIGGER_REASON]: { name: "trigger_reason", type: "u32", flags: ROAM_TRIGGERS },
  // u32, enum qca_vendor_roam_invoke_fail_reasons
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_INVOKE_FAIL_REASON]: { name: "invoke_fail_reason", type: "u32", enum: ROAM_INVOKE_FAIL_REASONS },
  // an array of nests, one per candidate
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_CANDIDATE_INFO]: { name: "candidates", type: "indexed-array", nested: ROAM_CANDIDATE_ATTRS },
  // u8, bits of enum qca_wlan_vendor_roam_scan_state
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_ROAM_SCAN_STATE]: { name: "scan_state", type: "u8", flags: bitNames(QCA_ENUMS.qca_wlan_vendor_roam_scan_state) },
  // a nest of u32 frequencies (MHz)
  [QCA_WLAN_VENDOR_ATTR_ROAM_EVENTS_ROAM_SCAN_FREQ_LIST]: { name: "scan_freqs", type: "indexed-array" },
});
