// The constant tables beyond the core one are loaded by the first filter that is read, not by a
// monitor without a filter: nl80211's alone is some 700 names a route monitor would hold for good.
// Module loading is per process, so the check runs in a fresh one.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

test("a monitor's pipeline without filters leaves the extra tables unloaded; the first filter loads them", () => {
  const dir = mkdtempSync(join(tmpdir(), "nlmon-filter-constants-"));
  try {
    const script = join(dir, "probe.ts");
    writeFileSync(script, `
import "${SRC}/monitor/monitor.ts";
import { Pipeline } from "${SRC}/pipeline/pipeline.ts";
import { loadConfig } from "${SRC}/config/load.ts";
import { Names } from "${SRC}/decode/names.ts";
import { nlmonMetrics } from "${SRC}/metrics/registry.ts";
import { constantsLoaded } from "${SRC}/filter/constants.ts";
const extra = ["nl80211.gen.ts", "sock_diag.gen.ts", "netfilter.gen.ts"];
const loaded = () => extra.filter((f) => Object.keys(require.cache).some((k) => k.endsWith("/uapi/" + f)));
const p = new Pipeline({ names: new Names([]), metrics: nlmonMetrics() });
p.applyFilters(loadConfig({ text: "{}", env: {} }));
const before = { loaded: loaded(), table: constantsLoaded() };
p.applyFilters(loadConfig({ text: "filter: 'netlink.genl.cmd == NL80211_CMD_NEW_STATION'", env: {} }));
console.log(JSON.stringify({ before, after: { loaded: loaded(), table: constantsLoaded() } }));
`);
    const r = Bun.spawnSync([process.execPath, script], { stderr: "pipe" });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual({
      before: { loaded: [], table: false },
      after: { loaded: ["nl80211.gen.ts", "sock_diag.gen.ts", "netfilter.gen.ts"], table: true },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
