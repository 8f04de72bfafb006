/**
 * An alert notification as an event of the stream. No netlink message carries it, so its
 * netlink block names nlmon itself: protocol -1 (every real protocol is 0..31; 0 is
 * NETLINK_ROUTE, which a filter on routes must not catch), protocol_name "nlmon", msg_type 0,
 * msg_type_name "NLMON_ALERT". The body is netlink.alert, as every event's body is netlink[type].
 */
import { isoNs } from "../codec/format.ts";
import type { AlertBody, NlEvent } from "../event/model.ts";

export const ALERT_PROTOCOL = -1;
export const ALERT_MSG_TYPE_NAME = "NLMON_ALERT";

export function alertEvent(body: AlertBody, tsNs: bigint): NlEvent {
  return {
    timestamp: isoNs(tsNs),
    type: "alert",
    protocol: ALERT_PROTOCOL,
    msg_type: 0,
    netlink: { protocol: ALERT_PROTOCOL, protocol_name: "nlmon", msg_type: 0, msg_type_name: ALERT_MSG_TYPE_NAME, msg_flags: 0, alert: body },
  };
}
