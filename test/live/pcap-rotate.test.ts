/**
 * A pcap file started by rotation (or SIGHUP) replays with the same device names as the live
 * stream: each new file opens with the links nlmon knows.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NLM_F_MULTI } from "../../src/uapi/linux.gen.ts";
import { delNs, ensureBinary, ip, makeNs, nsName, runNlmon, startNlmon, textOf, until } from "./lib.ts";

const ns = nsName("pcaprot");
const dir = mkdtempSync(join(tmpdir(), "nlmon-pcaprot-"));

beforeAll(async () => {
  ensureBinary();
  await makeNs(ns);
}, 60_000);
afterAll(() => {
  delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

test("replay of a rotated capture names devices as the live export did", async () => {
  const cfg = join(dir, "cfg.yaml");
  writeFileSync(cfg, `netlink: { use_libnl: false }\nexport:\n  json: { enabled: true, file: ${dir}/live.json }\n  pcap: { enabled: true, file: ${dir}/c.pcap, rotate: { max_size: 4000, keep: 100 } }\n`);
  const mon = startNlmon({ ns, args: ["--config", cfg] });
  expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
  for (let i = 1; i <= 60; i++) ip(ns, "route", "add", `10.200.${i}.0/24`, "via", "10.9.0.2", "dev", "v0", "table", "19");
  // the last route in the JSON file: all 60 have been through the pipeline, the pcap export's too
  await until(() => textOf(join(dir, "live.json")), (t) => t.includes('"dst":"10.200.60.0/24"'), 15_000, 50);
  expect(await mon.stop()).toBe(0);
  const rotated = readdirSync(dir).filter((f) => /^c\.pcap\.\d+$/.test(f));
  expect(rotated.length).toBeGreaterThan(1);
  const live = (await Bun.file(join(dir, "live.json")).text()).trim().split("\n").map((l) => JSON.parse(l));
  const liveRoutes = new Map(live.filter((e) => e.type === "route").map((e) => [e.netlink.route.dst, e.netlink.route.dev]));
  expect([...liveRoutes.values()].every((d) => d === "v0")).toBe(true);
  // the newest file and an older rotated one, each replayed alone
  for (const f of ["c.pcap", rotated.sort()[0]!]) {
    const out = join(dir, `replay-${f}.json`);
    writeFileSync(join(dir, "r.yaml"), `export:\n  json: { enabled: true, file: ${out} }\n`);
    const r = runNlmon({ args: ["--config", join(dir, "r.yaml"), "--replay", join(dir, f)], env: { NLMON_USE_LIBNL: "false" } });
    expect(r.code, r.err).toBe(0);
    const evs = (await Bun.file(out).text()).trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "route" && !(e.netlink.msg_flags & NLM_F_MULTI));
    expect(evs.length).toBeGreaterThan(0);
    for (const e of evs) expect(e.netlink.route.dev).toBe(liveRoutes.get(e.netlink.route.dst));
  }
}, 60_000);
