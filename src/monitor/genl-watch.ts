/**
 * Generic netlink families that come and go. nlmon always listens to nlctrl's `notify` group; when
 * nlctrl announces a configured family (CTRL_CMD_NEWFAMILY: a module such as cfg80211 loaded) or a
 * new group of one (CTRL_CMD_NEWMCAST_GRP), its groups are joined on the running socket, so a
 * family missing at start is monitored once it exists. When a family is unregistered the kernel
 * drops every membership of its groups itself; nlmon forgets them, to join again if it returns.
 *
 * The announcement is taken as it comes (its id and group ids are the kernel's): asking nlctrl or
 * libnl again would only race with the family going away.
 */
import type { BackendOptions } from "../backend/types.ts";
import type { GenlFamily } from "../families/genl/index.ts";
import type { NlEvent } from "../event/model.ts";
import type { Log } from "../log.ts";
import { CTRL_CMD_DELFAMILY, CTRL_CMD_DELMCAST_GRP, CTRL_CMD_NEWFAMILY, CTRL_CMD_NEWMCAST_GRP, GENL_ID_CTRL } from "../uapi/linux.gen.ts";
import { sameFamily } from "./genl.ts";
import { genlPolicies } from "../families/genl/policy.ts";

export class GenlWatch {
  /** group ids joined or being joined on the generic socket */
  private readonly joined: Set<number>;
  /** configured names not present in the kernel */
  readonly missing: Set<string>;

  /**
   * @param socket the generic socket's options: joined groups are added to its list, so a
   *   reconnect (which reopens sockets from these options) joins them again
   */
  constructor(
    private readonly wanted: readonly string[],
    missing: readonly string[],
    private readonly socket: BackendOptions,
    private readonly join: (groups: number[]) => Promise<void>,
    private readonly log: Log,
    /** a configured family appeared: what to learn of it (its attribute policy) before joining its groups */
    private readonly appeared: (f: GenlFamily) => Promise<void> = async () => {},
    /** which of a family's groups to join (the config may list some) */
    private readonly pick: (family: string, groups: Record<string, number>) => Record<string, number> = (_f, g) => g,
  ) {
    this.joined = new Set(socket.groups);
    this.missing = new Set(missing);
  }

  observe(ev: NlEvent): void {
    if (ev.type !== "genl" || ev.netlink.msg_type !== GENL_ID_CTRL || ev.resync) return;
    const g = ev.netlink.genl;
    const f = g?.family;
    if (!g || !f?.name || f.id === undefined) return;
    const wanted = this.wanted.find((w) => sameFamily(w, f.name!));
    if (wanted === undefined) return;
    const groups = f.mcast_groups ?? {};
    switch (g.cmd) {
      case CTRL_CMD_NEWFAMILY: {
        this.missing.delete(wanted);
        const fam: GenlFamily = { id: f.id, name: f.name, version: f.version, groups: { ...groups } };
        void this.appeared(fam).catch(() => {}).then(() => this.joinGroups(f.name!, groups, `generic netlink family '${f.name}' appeared (id ${f.id})`));
        break;
      }
      case CTRL_CMD_NEWMCAST_GRP:
        this.joinGroups(f.name, groups, `generic netlink family '${f.name}' has a new group`);
        break;
      case CTRL_CMD_DELMCAST_GRP:
        this.forget(Object.values(groups));
        break;
      case CTRL_CMD_DELFAMILY:
        this.missing.add(wanted);
        genlPolicies.remove(f.id);
        this.forget(Object.values(groups));
        this.log.warn("genl", `generic netlink family '${f.name}' was unregistered (its module unloaded?); nlmon joins it again if it comes back`);
        break;
    }
  }

  /** Families that appeared between the start-up dump and the socket joining nlctrl's notify group. */
  recheck(now: ReadonlyMap<string, GenlFamily>): void {
    for (const w of [...this.missing]) {
      const f = [...now.values()].find((x) => sameFamily(w, x.name));
      if (!f) continue;
      this.missing.delete(w);
      void this.appeared(f).catch(() => {}).then(() => this.joinGroups(f.name, f.groups, `generic netlink family '${f.name}' appeared while nlmon started (id ${f.id})`));
    }
  }

  private joinGroups(family: string, all: Record<string, number>, what: string) {
    const groups = this.pick(family, all);
    const fresh = Object.entries(groups).filter(([, id]) => !this.joined.has(id));
    if (!fresh.length) {
      // a group announced after the family is usually joined already: the family's own
      // announcement listed it, and its join may still be on its way
      const names = Object.keys(groups);
      this.log.info("genl", names.length ? `${what}; ${names.join(", ")} joined already` : `${what}; no multicast group to join`);
      return;
    }
    const ids = fresh.map(([, id]) => id);
    for (const id of ids) this.joined.add(id);
    const names = fresh.map(([n, id]) => `${n}=${id}`).join(", ");
    this.join(ids).then(
      () => {
        for (const id of ids) if (!this.socket.groups.includes(id)) this.socket.groups.push(id);
        this.log.info("genl", `${what}: joined ${family} groups ${names}`);
      },
      (e: Error) => {
        for (const id of ids) this.joined.delete(id);
        this.log.warn("genl", `${what}, but joining its groups ${names} failed: ${e.message}`);
      },
    );
  }

  private forget(ids: number[]) {
    for (const id of ids) {
      this.joined.delete(id);
      const i = this.socket.groups.indexOf(id);
      if (i >= 0) this.socket.groups.splice(i, 1);
    }
  }
}
