/**
 * A generic netlink family with a decoder of its own (nl80211, taskstats): what the generic
 * netlink layer needs to hand it a message. Families are matched by the kernel's name, since
 * their ids are handed out at run time.
 */
import type { EventType } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";

/** every body a subfamily makes starts with the generic header's fields */
export interface GenlSubBody {
  cmd: number;
  version: number;
  cmd_name?: string;
}

export interface GenlSubfamily {
  /** the family's name as the kernel registers it */
  name: string;
  /** the event type its messages become (netlink.<type> holds the body) */
  type: EventType;
  /** the command's name, where the family's header names it */
  cmdName(cmd: number): string | undefined;
  /** the body of one message; its attributes start at `off` (after the genlmsghdr and any family header) */
  decode(cmd: number, version: number, dv: DataView, off: number, end: number, ctx: DecodeContext): GenlSubBody;
}
