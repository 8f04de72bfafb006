/**
 * The guide's generic_families example (nl80211 and taskstats) on a machine without Wi-Fi, on both
 * backends: nlmon keeps running, warns with the guide's text, matches taskstats to the kernel's
 * TASKSTATS, and joins nl80211's groups once nlctrl announces the family.
 *
 * What this proves and what it does not: this kernel has no cfg80211 and no loadable modules, so
 * no family can really appear. The test itself multicasts CTRL_CMD_NEWFAMILY for "nl80211" to
 * nlctrl's notify group in the namespace (root may send to it), in the layout the kernel uses,
 * naming as the family's group a real group of this kernel: netdev's "mgmt", which the kernel
 * notifies when a network device is registered. Before the announcement adding a device gives no
 * netdev message; after it, it does: so nlmon matched the announcement and joined the named group
 * on its live socket (setsockopt on the legacy backend, nl_socket_add_memberships on libnl). That
 * the kernel sends the same announcement when cfg80211 loads is the kernel's behaviour
 * (genl_register_family → genl_ctrl_event), not tested here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WorkerBackend } from "../../src/backend/host.ts";
import { loadGenlFamilies } from "../../src/monitor/genl.ts";
import { CTRL_CMD_DELFAMILY, CTRL_CMD_NEWFAMILY } from "../../src/uapi/linux.gen.ts";
import { announcement } from "../fixtures/genl.ts";
import { BACKENDS, delNs, ensureBinary, ensureLibnl, EventStream, ip, must, nsName, ROOT, sleep, startNlmon, tempDir } from "./lib.ts";

const dir = tempDir("genl");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

/** the guide's Pattern 1 step 2, with the libnl-specific section's second family */
const GUIDE = `netlink:
  use_libnl: true
  protocols:
    route: true
    generic: true
  generic_families:
    - nl80211
    - taskstats
`;

function announce(ns: string, notifyGroup: number, msg: Uint8Array) {
  must(["ip", "netns", "exec", ns, join(ROOT, "node_modules/.bin/bun"), join(ROOT, "test/live/genl-announce.ts"), String(notifyGroup), Buffer.from(msg).toString("hex")]);
}

describe("generic_families as the guide writes them", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: nl80211 absent is a warning, taskstats is TASKSTATS, nl80211 is joined when nlctrl announces it`, async () => {
      // group and family ids are the kernel's, the same in every namespace
      const host = new WorkerBackend({ driver: "legacy" });
      const all = new Map(await loadGenlFamilies(host).finally(() => host.stop()));
      const netdev = all.get("netdev")!;
      const mgmt = netdev.groups.mgmt!;
      const notify = all.get("nlctrl")!.groups.notify!;
      // an id no family has, for the stand-in nl80211
      const id = Math.max(...[...all.values()].map((f) => f.id)) + 1;
      const ns = nsName(`genl${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      ip(ns, "link", "set", "lo", "up");
      const cfg = join(dir, `guide-${b.name}.yaml`);
      writeFileSync(cfg, GUIDE);
      const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        const err = () => mon.err.lines.join("\n");
        expect(err()).toContain("Failed to resolve family 'nl80211'");
        expect(err()).toContain("modprobe cfg80211");
        expect(err()).toContain("'taskstats' is the kernel's 'TASKSTATS'");
        expect(err()).not.toContain("Failed to resolve family 'taskstats'");
        expect(mon.proc.exitCode).toBeNull();

        const isNetdev = (e: { type: string; netlink: { msg_type: number } }) => e.type === "genl" && e.netlink.msg_type === netdev.id;
        // before: a registered device gives nlmon its link, but no netdev message (mgmt not joined)
        let from = ev.cursor();
        ip(ns, "link", "add", "va0", "type", "veth", "peer", "name", "va1");
        await ev.waitFor("RTM_NEWLINK va0", (e) => e.netlink.link?.ifname === "va0", from);
        await sleep(500);
        expect(ev.since(from, isNetdev)).toEqual([]);

        const t0 = performance.now();
        announce(ns, notify, announcement(CTRL_CMD_NEWFAMILY, "nl80211", id, { mlme: mgmt }));
        const joined = await mon.err.waitLine((l) => l.includes("'nl80211' appeared") && l.includes("joined"), 5_000);
        expect(joined).toBeGreaterThanOrEqual(0);
        const ms = performance.now() - t0;
        expect(ms).toBeLessThan(1000);
        await ev.waitFor("nlctrl's NEWFAMILY nl80211", (e) => e.netlink.genl?.cmd_name === "CTRL_CMD_NEWFAMILY" && e.netlink.genl.family?.name === "nl80211", 0);

        // after: the group named in the announcement delivers
        from = ev.cursor();
        ip(ns, "link", "add", "vb0", "type", "veth", "peer", "name", "vb1");
        const got = await ev.waitFor("a netdev message on the joined group", isNetdev, from, 5_000);
        expect(got.netlink.genl_family_name ?? got.netlink.msg_type_name).toBe("netdev");

        announce(ns, notify, announcement(CTRL_CMD_DELFAMILY, "nl80211", id, { mlme: mgmt }));
        expect(await mon.err.waitLine((l) => l.includes("'nl80211' was unregistered"), 5_000)).toBeGreaterThanOrEqual(0);
        console.log(`${b.name}: announcement to join ${ms.toFixed(0)} ms`);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);
  }
});
