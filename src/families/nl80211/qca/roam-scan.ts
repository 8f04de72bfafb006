/** QCA_NL80211_VENDOR_SUBCMD_ROAM_SCAN_EVENT (172): a roam scan started or stopped, and why it started. */
import { QCA_WLAN_VENDOR_ATTR_ROAM_SCAN_EVENT_TYPE, QCA_WLAN_VENDOR_ATTR_ROAM_SCAN_TRIGGER_REASON } from "../qca-vendor.gen.ts";
import { qcaSet, valueNames } from "./common.ts";

export const ROAM_SCAN_ATTRS = qcaSet("roam_scan", "qca_wlan_vendor_attr_roam_scan", {
  // u32, enum qca_wlan_roam_scan_event_type
  [QCA_WLAN_VENDOR_ATTR_ROAM_SCAN_EVENT_TYPE]: { name: "event_type", type: "u32", enum: valueNames("qca_wlan_roam_scan_event_type") },
  // u32, enum qca_wlan_roam_scan_trigger_reason
  [QCA_WLAN_VENDOR_ATTR_ROAM_SCAN_TRIGGER_REASON]: { name: "trigger_reason", type: "u32", enum: valueNames("qca_wlan_roam_scan_trigger_reason") },
});
