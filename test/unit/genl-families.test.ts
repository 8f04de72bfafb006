/**
 * Generic netlink family names as the guide writes them, against this kernel's own nlctrl records
 * (test/fixtures/genl/, captured by scripts/capture-genl-fixture.ts): matching, the guide's
 * warning for an absent family, and what nlmon does when nlctrl announces a family later. The
 * announcements are this kernel's family records in notification form (the kernel builds both
 * with ctrl_fill_info); group additions, which the kernel builds differently, are made from their
 * documented layout. test/live/genl-late-family.test.ts does the same against a running nlmon.
 */
import { describe, expect, test } from "bun:test";
import type { BackendOptions } from "../../src/backend/types.ts";
import { GenlRegistry } from "../../src/families/genl/index.ts";
import type { Log } from "../../src/log.ts";
import { GenlResolveError, matchFamily, resolveAvailable, resolveFamilies } from "../../src/monitor/genl.ts";
import { GenlWatch } from "../../src/monitor/genl-watch.ts";
import {
  CTRL_CMD_DELFAMILY, CTRL_CMD_DELMCAST_GRP, CTRL_CMD_NEWFAMILY, NETLINK_GENERIC,
} from "../../src/uapi/linux.gen.ts";
import { announcement, capturedFamilies, ctrlDump, decodeWith, eventOf, newGroup, notification } from "../fixtures/genl.ts";

const all = capturedFamilies();
const fakeBackend = { dump: async () => ctrlDump() };

function fakeLog() {
  const lines: string[] = [];
  const log = { info: (m: string, t: string) => lines.push(`info ${m}: ${t}`), warn: (m: string, t: string) => lines.push(`warn ${m}: ${t}`) };
  return { lines, log: log as unknown as Log };
}

describe("family names as the kernel spells them", () => {
  test("the capture is a real nlctrl dump of this kernel", () => {
    expect(all.get("nlctrl")?.groups.notify).toBeGreaterThan(0);
    expect(all.size).toBeGreaterThan(5);
  });

  test("every family matches its own spelling exactly, and any other casing with a note", () => {
    for (const f of all.values()) {
      expect(matchFamily(all, f.name)).toEqual({ found: f });
      for (const other of [f.name.toLowerCase(), f.name.toUpperCase()].filter((n) => n !== f.name)) {
        const m = matchFamily(all, other);
        expect(m.found).toBe(f);
        expect(m.found && m.note).toContain(`'${other}' is the kernel's '${f.name}'`);
      }
    }
  });

  test("the guide's taskstats is the kernel's TASKSTATS", () => {
    const m = matchFamily(all, "taskstats");
    expect(m.found?.name).toBe("TASKSTATS");
  });

  test("an absent family gets the guide's text, the kernel's list and the module hint", () => {
    const m = matchFamily(all, "nl80211");
    expect(m.found).toBeUndefined();
    const text = m.found ? "" : m.problem;
    expect(text.startsWith("Failed to resolve family 'nl80211'")).toBe(true);
    for (const name of all.keys()) expect(text).toContain(name);
    expect(text).toContain("modprobe cfg80211");
  });

  test("start-up: found families, the absent one a warning that nlmon keeps running", async () => {
    const r = await resolveAvailable(fakeBackend, ["nlctrl", "nl80211", "taskstats"]);
    expect(r.found.map((f) => f.name)).toEqual(["nlctrl", "TASKSTATS"]);
    expect(r.missing).toEqual(["nl80211"]);
    expect(r.notes).toHaveLength(1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("Failed to resolve family 'nl80211'");
    expect(r.warnings[0]).toContain("nlmon keeps running");
  });

  test("the library API still refuses an absent family (it asks for an id)", async () => {
    await expect(resolveFamilies(fakeBackend, ["nl80211"])).rejects.toBeInstanceOf(GenlResolveError);
    expect((await resolveFamilies(fakeBackend, ["taskstats"]))[0]!.name).toBe("TASKSTATS");
  });
});

describe("nlctrl notifications keep the registry right", () => {
  const withGroups = [...all.values()].find((f) => Object.keys(f.groups).length >= 2)!;

  test("a family's record announces it with its groups", () => {
    const reg = new GenlRegistry();
    decodeWith(notification(withGroups.name, CTRL_CMD_NEWFAMILY), reg);
    expect(reg.byName.get(withGroups.name)?.groups).toEqual(withGroups.groups);
  });

  test("a new group is added to the family's groups, a removed one taken away, not the whole list replaced", () => {
    const reg = new GenlRegistry();
    decodeWith(notification(withGroups.name, CTRL_CMD_NEWFAMILY), reg);
    const spare = Math.max(...[...all.values()].flatMap((f) => Object.values(f.groups))) + 1;
    decodeWith(newGroup(withGroups.name, withGroups.id, "added", spare), reg);
    expect(reg.byName.get(withGroups.name)?.groups).toEqual({ ...withGroups.groups, added: spare });
    const [first] = Object.entries(withGroups.groups)[0]!;
    decodeWith(announcement(CTRL_CMD_DELMCAST_GRP, withGroups.name, withGroups.id, { [first]: withGroups.groups[first]! }), reg);
    const left = { ...withGroups.groups, added: spare } as Record<string, number>;
    delete left[first];
    expect(reg.byName.get(withGroups.name)?.groups).toEqual(left);
    decodeWith(notification(withGroups.name, CTRL_CMD_DELFAMILY), reg);
    expect(reg.byName.has(withGroups.name)).toBe(false);
  });
});

describe("a configured family that appears later is joined", () => {
  const family = [...all.values()].find((f) => f.name !== "nlctrl" && Object.keys(f.groups).length >= 1)!;
  const notify = all.get("nlctrl")!.groups.notify!;

  function watch(wanted: string[], missing: string[], fail = false) {
    const socket: BackendOptions = { protocol: NETLINK_GENERIC, groups: [notify], rcvbuf: 0, sndbuf: 0, maxMessageSize: 0 };
    const joins: number[][] = [];
    const { lines, log } = fakeLog();
    const w = new GenlWatch(wanted, missing, socket, async (g) => {
      joins.push(g);
      if (fail) throw new Error("EPERM");
    }, log);
    return { w, socket, joins, lines };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  test(`NEWFAMILY of the wanted family joins its groups; again is a no-op; DELFAMILY forgets them; it is joined again when it returns`, async () => {
    const { w, socket, joins, lines } = watch([family.name.toUpperCase()], [family.name.toUpperCase()]);
    const ids = Object.values(family.groups);
    w.observe(eventOf(notification(family.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(joins).toEqual([ids]);
    expect(socket.groups).toEqual([notify, ...ids]);
    expect(w.missing.size).toBe(0);
    expect(lines.some((l) => l.includes(`'${family.name}' appeared`) && l.includes("joined"))).toBe(true);
    w.observe(eventOf(notification(family.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(joins).toHaveLength(1);
    w.observe(eventOf(notification(family.name, CTRL_CMD_DELFAMILY)));
    expect(socket.groups).toEqual([notify]);
    expect([...w.missing]).toEqual([family.name.toUpperCase()]);
    w.observe(eventOf(notification(family.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(joins).toEqual([ids, ids]);
  });

  test("a group added later to a wanted family is joined", async () => {
    const { w, joins } = watch([family.name], []);
    w.observe(eventOf(newGroup(family.name, family.id, "late", 250)));
    await settle();
    expect(joins).toEqual([[250]]);
  });

  test("families nobody asked for are left alone", async () => {
    const other = [...all.values()].find((f) => f !== family && Object.keys(f.groups).length)!;
    const { w, joins } = watch([family.name], [family.name]);
    w.observe(eventOf(notification(other.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(joins).toEqual([]);
  });

  test("a failed join is reported and retried on the next announcement", async () => {
    const { w, socket, joins, lines } = watch([family.name], [family.name], true);
    w.observe(eventOf(notification(family.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(lines.some((l) => l.startsWith("warn") && l.includes("failed: EPERM"))).toBe(true);
    expect(socket.groups).toEqual([notify]);
    w.observe(eventOf(notification(family.name, CTRL_CMD_NEWFAMILY)));
    await settle();
    expect(joins).toHaveLength(2);
  });

  test("a family registered while nlmon was starting is found by the re-check", async () => {
    const { w, joins } = watch([family.name], [family.name]);
    w.recheck(all);
    await settle();
    expect(joins).toEqual([Object.values(family.groups)]);
  });
});

test("the family registry keeps one entry per live family when ids and names are reused", async () => {
  const { GenlRegistry } = await import("../../src/families/genl/index.ts");
  const r = new GenlRegistry();
  for (let i = 0; i < 1000; i++) r.add({ id: 40 + (i % 3), name: `fam${i}`, groups: {} });
  expect(r.byId.size).toBe(3);
  expect(r.byName.size).toBe(3);
  r.add({ id: 90, name: "fam999", groups: {} });
  expect(r.byId.has(40)).toBe(false);
  expect(r.byName.get("fam999")!.id).toBe(90);
});
