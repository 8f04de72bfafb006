/**
 * QCA_NL80211_VENDOR_SUBCMD_TEST (1): the test command mac80211_hwsim implements (and answers
 * with an event of the same subcommand). Its one attribute is QCA_WLAN_VENDOR_ATTR_TEST (8) of the
 * header's generic attribute enum; hwsim's policy for it is NLA_U32
 * (drivers/net/wireless/virtual/mac80211_hwsim.c, hwsim_vendor_test_policy).
 */
import { QCA_WLAN_VENDOR_ATTR_TEST } from "../qca-vendor.gen.ts";
import { qcaSet } from "./common.ts";

export const TEST_ATTRS = qcaSet("test", "qca_wlan_vendor_attr", {
  [QCA_WLAN_VENDOR_ATTR_TEST]: { name: "test", type: "u32" },
});
