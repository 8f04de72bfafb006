/**
 * nl80211's value names as events show them: the header's enum names without their prefix,
 * lowercased (NL80211_IFTYPE_AP -> "ap", NL80211_CMD_NEW_STATION -> "new_station").
 */
import { shortNames } from "../../decode/names.ts";
import { NAMES } from "../../uapi/nl80211.gen.ts";

export const CMD = shortNames(NAMES.nl80211_cmd, "NL80211_CMD_");
export const IFTYPE = shortNames(NAMES.nl80211_iftype, "NL80211_IFTYPE_");
export const CHAN_WIDTH = shortNames(NAMES.nl80211_chan_width, "NL80211_CHAN_WIDTH_");
export const CHANNEL_TYPE = shortNames(NAMES.nl80211_channel_type, "NL80211_CHAN_");
export const REG_INITIATOR = shortNames(NAMES.nl80211_reg_initiator, "NL80211_REGDOM_SET_BY_");
export const REG_TYPE = shortNames(NAMES.nl80211_reg_type, "NL80211_REGDOM_TYPE_");
export const CQM_RSSI_EVENT = shortNames(NAMES.nl80211_cqm_rssi_threshold_event, "NL80211_CQM_RSSI_");
export const AUTH_TYPE = shortNames(NAMES.nl80211_auth_type, "NL80211_AUTHTYPE_");
export const TIMEOUT_REASON = shortNames(NAMES.nl80211_timeout_reason, "NL80211_TIMEOUT_");
export const BAND = shortNames(NAMES.nl80211_band, "NL80211_BAND_");
export const STA_FLAG = shortNames(NAMES.nl80211_sta_flag, "NL80211_STA_FLAG_");
