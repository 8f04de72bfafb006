/**
 * QCA_NL80211_VENDOR_SUBCMD_KEY_MGMT_ROAM_AUTH (51): NL80211_CMD_ROAM with what an offloaded key
 * management adds. Types the header's comments leave out (AUTHORIZED and SUBNET_STATUS u8, STATUS
 * u16) are as hostap reads them (src/drivers/driver_nl80211_event.c). Key material (KCK, KEK, PMK)
 * and the KDEs of message 3/4 (which can hold the group key) are shown by length only.
 */
import {
  QCA_WLAN_VENDOR_ATTR_MLO_LINK_BSSID, QCA_WLAN_VENDOR_ATTR_MLO_LINK_ID, QCA_WLAN_VENDOR_ATTR_MLO_LINK_MAC_ADDR,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_AP_KDE_INFO, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_ASSOC_ENCRYPTED, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_AUTHORIZED,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_BSSID, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_FILS_ERP_NEXT_SEQ_NUM, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_KEY_REPLAY_CTR,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_MLO_LINKS, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PMK, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PMKID,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PTK_KCK, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PTK_KEK, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_REASON,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_REQ_IE, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_RESP_IE, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_RETAIN_CONNECTION,
  QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_STATUS, QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_SUBNET_STATUS,
} from "../qca-vendor.gen.ts";
import { blob, mac, qcaSet, redacted, u8, valueNames } from "./common.ts";

export const MLO_LINK_ATTRS = qcaSet("roam_auth.mlo_link", "qca_wlan_vendor_attr_mlo_links", {
  [QCA_WLAN_VENDOR_ATTR_MLO_LINK_ID]: u8("link_id"),
  [QCA_WLAN_VENDOR_ATTR_MLO_LINK_MAC_ADDR]: mac("mac"),
  [QCA_WLAN_VENDOR_ATTR_MLO_LINK_BSSID]: mac("bssid"),
});

export const ROAM_AUTH_ATTRS = qcaSet("roam_auth", "qca_wlan_vendor_attr_roam_auth", {
  // the roamed-to AP's BSSID (its MLD address for an MLO roam)
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_BSSID]: mac("bssid"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_REQ_IE]: blob("req_ie"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_RESP_IE]: blob("resp_ie"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_AUTHORIZED]: u8("authorized"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_KEY_REPLAY_CTR]: blob("key_replay_ctr"),
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PTK_KCK]: { name: "ptk_kck", type: "binary", parse: redacted },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PTK_KEK]: { name: "ptk_kek", type: "binary", parse: redacted },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_SUBNET_STATUS]: u8("subnet_status"),
  // u16, the AP's IEEE 802.11 status code (status_text is added from iw's table)
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_STATUS]: { name: "status", type: "u16" },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_RETAIN_CONNECTION]: { name: "retain_connection", type: "flag" },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PMK]: { name: "pmk", type: "binary", parse: redacted },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_PMKID]: blob("pmkid"),
  // u16
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_FILS_ERP_NEXT_SEQ_NUM]: { name: "fils_erp_next_seq_num", type: "u16" },
  // u16, enum qca_roam_reason
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_REASON]: { name: "reason", type: "u16", enum: valueNames("qca_roam_reason") },
  // one nest per link of the MLO connection
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_MLO_LINKS]: { name: "mlo_links", type: "indexed-array", nested: MLO_LINK_ATTRS },
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_ASSOC_ENCRYPTED]: { name: "assoc_encrypted", type: "flag" },
  // KDEs from EAPOL-Key message 3/4, binary: they can carry the group key, so length only
  [QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_AP_KDE_INFO]: { name: "ap_kde_info", type: "binary", parse: redacted },
});
