/** QCA_NL80211_VENDOR_SUBCMD_THERMAL_EVENT (168): temperature, thermal level, resume from power save. */
import {
  QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_LEVEL, QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_RESUME_COMPLETE, QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_TEMPERATURE,
} from "../qca-vendor.gen.ts";
import { qcaSet, valueNames } from "./common.ts";

export const THERMAL_EVENT_ATTRS = qcaSet("thermal_event", "qca_wlan_vendor_attr_thermal_event", {
  // u32, degrees Celsius
  [QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_TEMPERATURE]: { name: "temperature", type: "u32" },
  [QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_RESUME_COMPLETE]: { name: "resume_complete", type: "flag" },
  // u32, enum qca_wlan_vendor_thermal_level
  [QCA_WLAN_VENDOR_ATTR_THERMAL_EVENT_LEVEL]: { name: "level", type: "u32", enum: valueNames("qca_wlan_vendor_thermal_level") },
});
