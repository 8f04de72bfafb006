/** QCA_NL80211_VENDOR_SUBCMD_HANG (157): the driver detected an internal failure, and why. */
import { QCA_WLAN_VENDOR_ATTR_HANG_REASON, QCA_WLAN_VENDOR_ATTR_HANG_REASON_DATA } from "../qca-vendor.gen.ts";
import { blob, qcaSet, valueNames } from "./common.ts";

export const HANG_ATTRS = qcaSet("hang", "qca_wlan_vendor_attr_hang", {
  // u32, enum qca_wlan_vendor_hang_reason
  [QCA_WLAN_VENDOR_ATTR_HANG_REASON]: { name: "reason", type: "u32", enum: valueNames("qca_wlan_vendor_hang_reason") },
  // the dump that goes with the reason, binary, at most 1024 bytes
  [QCA_WLAN_VENDOR_ATTR_HANG_REASON_DATA]: blob("reason_data"),
});
