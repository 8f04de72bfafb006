/**
 * Whether each link was usable (UP and LOWER_UP) when last seen: a link's usable state changing
 * either way changes its routes silently, so a change here calls for a look at the routes.
 */
import { isDelete } from "../cache/change.ts";
import type { NlEvent } from "../event/model.ts";

export class LinkUp {
  private readonly up = new Map<number, boolean>();

  /** the links a dump shows */
  prime(events: readonly NlEvent[]): void {
    for (const e of events) {
      const l = e.netlink.link;
      if (l) this.up.set(l.ifindex, l.flags.includes("UP") && l.flags.includes("LOWER_UP"));
    }
  }

  /** Note a live event; true when it is a link's and its usable state moved. */
  moved(ev: NlEvent): boolean {
    const l = ev.netlink.link;
    if (!l) return false;
    const up = !isDelete(ev) && l.flags.includes("UP") && l.flags.includes("LOWER_UP");
    const moved = this.up.get(l.ifindex) !== up;
    if (isDelete(ev)) this.up.delete(l.ifindex);
    else this.up.set(l.ifindex, up);
    return moved;
  }
}
