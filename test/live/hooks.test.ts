/**
 * Hooks in the real daemon (dist/nlmon) against real links in a network namespace: the shipped
 * failover hook brings the backup link up when the primary goes down, the event reaches a hook
 * with its fields, and a hook that cannot run stops the daemon before it starts (exit 2).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import { delNs, ensureBinary, EventStream, ip, must, nlmonMark, nsName, ROOT, runNlmon, sleep, startNlmon, syncMark, tempDir, writeConfig } from "./lib.ts";

let dir = "";
const ns = nsName("hooks");

beforeAll(() => {
  ensureBinary();
  dir = tempDir("hooks");
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
  // veth pairs stand in for uplinks: the dummy driver is not always there
  ip(ns, "link", "add", "wan0", "type", "veth", "peer", "name", "wan0p");
  ip(ns, "link", "add", "wan1", "type", "veth", "peer", "name", "wan1p");
  ip(ns, "link", "set", "wan0p", "up");
  ip(ns, "link", "set", "wan1p", "up");
  ip(ns, "link", "set", "wan0", "up");
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const isUp = (dev: string) => (JSON.parse(ip(ns, "-j", "link", "show", "dev", dev)) as { flags: string[] }[])[0]!.flags.includes("UP");

async function until(cond: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(50);
  return cond();
}

describe("dist/nlmon runs hooks", () => {
  test("docs/examples/hooks-failover.yaml: wan0 goes down, the hook brings wan1 up, and nlmon reports it", async () => {
    expect(isUp("wan1")).toBe(false);
    // the shipped file, run inside the namespace, so its `ip` acts there; without a control socket,
    // which another nlmon of the suite may hold
    const shipped = readFileSync(join(ROOT, "docs/examples/hooks-failover.yaml"), "utf8");
    const f = writeConfig(dir, "failover.yaml", `${shipped}\ncontrol: {enabled: false}\n`);
    const child = startNlmon({ ns, args: ["--config", f] });
    const s = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }], 20_000);
      const from = s.cursor();
      ip(ns, "link", "set", "wan0", "down");
      expect(await until(() => isUp("wan1"), 10_000)).toBe(true);
      const down = await s.waitFor("wan0 down", (e) => e.netlink.link?.ifname === "wan0" && e.netlink.link.operstate === "DOWN", from, 5000);
      const up = await s.waitFor("wan1 set up by the hook", (e) => e.netlink.link?.ifname === "wan1" && e.netlink.link.flags.includes("UP"), from, 5000);
      expect(s.events.indexOf(up)).toBeGreaterThan(s.events.indexOf(down));
      // rate_limit 0.2: a second failure within five seconds does not run it again (on a machine
      // slow enough that five seconds passed, the hook may run again, and must)
      const from2 = s.cursor();
      ip(ns, "link", "set", "wan1", "down");
      ip(ns, "link", "set", "wan0", "up");
      ip(ns, "link", "set", "wan0", "down");
      const down2 = await s.waitFor("wan0 down again", (e) => e.netlink.link?.ifname === "wan0" && e.netlink.link.operstate === "DOWN", from2, 5000);
      const gap = Date.parse(down2.timestamp!) - Date.parse(down.timestamp!);
      await sleep(1000);
      if (gap < 4500) expect(isUp("wan1")).toBe(false);
      else if (gap > 5500) expect(await until(() => isUp("wan1"), 10_000)).toBe(true);
    } finally {
      await child.stop();
    }
    expect(child.err.lines.filter((l) => /hooks|internal error/.test(l))).toEqual([]);
  }, 60_000);

  test("a hook gets the event on stdin and its fields in the environment, from the real decoder", async () => {
    const out = join(dir, "route-hook");
    const f = writeConfig(dir, "env.yaml", `
control: {enabled: false}
hooks:
  - name: vrf_routes
    when: type == route && netlink.route.table == 10 && netlink.route.protocol == 201
    shell: 'cat > ${out}.json; env | grep ^NLMON_ | sort > ${out}.env'
`);
    const child = startNlmon({ ns, args: ["--config", f] });
    const s = new EventStream(child);
    try {
      await syncMark(ns, [{ lines: child.out, match: nlmonMark }], 20_000);
      const from = s.cursor();
      ip(ns, "link", "set", "wan0p", "up");
      ip(ns, "addr", "add", "10.77.0.1/24", "dev", "wan0p");
      ip(ns, "route", "add", "172.31.10.0/24", "via", "10.77.0.2", "table", "10", "proto", "201");
      const ev = await s.waitFor("the route", (e) => e.netlink.route?.dst === "172.31.10.0/24", from, 5000);
      const env = await readWhenDone(`${out}.env`);
      const line = readFileSync(`${out}.json`, "utf8");
      expect(JSON.parse(line) as NlEvent).toEqual(ev);
      expect(line).toBe(child.out.lines[s.events.indexOf(ev)] + "\n");
      expect(env).toContain("NLMON_DST=172.31.10.0/24\n");
      expect(env).toContain("NLMON_GATEWAY=10.77.0.2\n");
      expect(env).toContain("NLMON_IFNAME=wan0p\n");
      expect(env).toContain("NLMON_TABLE=10\n");
      expect(env).toContain("NLMON_ROUTE_PROTOCOL=201\n");
      expect(env).toContain("NLMON_HOOK=vrf_routes\n");
    } finally {
      await child.stop();
    }
  }, 60_000);

  test("a hook whose command is not found: exit 2 before any socket opens, naming the hook", () => {
    const f = writeConfig(dir, "missing.yaml", `
hooks:
  - {name: fine, when: type == link, command: ["true"]}
  - {name: failover, when: type == link, command: ["nlmon-no-such-command", "wan1"]}
`);
    const r = runNlmon({ ns, args: ["--config", f] });
    expect(r.code).toBe(2);
    expect(r.err).toBe("nlmon: hooks[1] (failover): command 'nlmon-no-such-command' not found (searched PATH)\n");
    expect(r.out).toBe("");
  });
});

/** a file a shell redirect writes: complete once its size stops changing after the hook ran */
async function readWhenDone(path: string): Promise<string> {
  let last = "";
  for (let i = 0; i < 100; i++) {
    let now = "";
    try {
      now = readFileSync(path, "utf8");
    } catch { /* not yet */ }
    if (now !== "" && now === last) return now;
    last = now;
    await sleep(50);
  }
  return last;
}
