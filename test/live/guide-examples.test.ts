/**
 * Every YAML example of the migration guide (test/fixtures/guide/, written out by
 * scripts/extract-guide-examples) run as an operator would: `nlmon --config FILE` in a network
 * namespace for a few seconds. The guide only asks for this where an example names the libnl
 * backend; every example is run here, legacy ones too. Each must keep running, report the route
 * change the test makes where the operator would look (stdout, or the file the example names),
 * open the generic socket where it enables generic netlink, stop with status 0 on SIGTERM, and
 * warn only about what the example itself asks for and nlmon cannot give.
 *
 * Two examples write to /var/log/nlmon/. Each nlmon runs with a tmpfs of its own on /var/log
 * (`ip netns exec` gives it a private mount namespace), holding the /var/log/nlmon a package
 * would have made, so the host's /var/log is never touched; the file is read through
 * /proc/PID/root.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { FIXTURE_DIR } from "../../scripts/guide-examples.ts";
import { BIN, delNs, ensureBinary, ensureLibnl, ip, must, nsName, sleep, startNlmon, type Child } from "./lib.ts";

const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
});

/** warnings an example earns by asking for something this machine or this nlmon lacks */
const EXPECTED_WARNINGS = [
  /genl: Failed to resolve family 'nl80211': .* nlmon keeps running/, // no Wi-Fi here
  /netlink: protocols\.(sock_diag|netfilter): not decoded by this version; ignored/,
  /genl: netlink\.generic_families is set but protocols\.generic is off/, // the guide's own troubleshooting step 2
  /control: control socket \/run\/nlmon\/nlmon\.sock: another nlmon is running/, // the examples run six at a time
];

const MOUNT = 'mount -t tmpfs nlmon-guide-test /var/log && mkdir -m 0750 /var/log/nlmon && exec "$0" --config "$1"';

const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".yaml")).sort();

async function runExample(file: string, k: number) {
  const path = join(FIXTURE_DIR, file);
  const cfg = loadConfig({ path, env: {} });
  const ns = nsName(`guide${k}`);
  made.push(ns);
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
  const mon: Child = startNlmon({ ns, bin: "sh", args: ["-c", MOUNT, BIN, path], env: { NLMON_USE_LIBNL: undefined } });
  const problems: string[] = [];
  let stdoutEvents = 0;
  try {
    if ((await mon.err.waitLine((l) => l.includes("receive buffer"), 20_000)) < 0) problems.push("never started");
    const dst = `198.51.100.${k + 1}`;
    ip(ns, "route", "add", "blackhole", dst, "proto", "77");
    const file = cfg.export.json.file;
    const seen = (text: string) => text.split("\n").some((l) => l.includes(`"dst":"${dst}/32"`) && l.includes('"RTM_NEWROUTE"'));
    const where = file === "-" ? "stdout" : file;
    let ok = false;
    for (const end = Date.now() + 15_000; !ok && Date.now() < end; await sleep(100)) {
      ok = file === "-" ? seen(mon.out.lines.join("\n")) : existsSync(`/proc/${mon.proc.pid}/root${file}`) && seen(readFileSync(`/proc/${mon.proc.pid}/root${file}`, "utf8"));
    }
    if (cfg.netlink.protocols.route && !ok) problems.push(`no RTM_NEWROUTE for ${dst} on ${where}`);
    stdoutEvents = mon.out.lines.length;
    if (cfg.netlink.protocols.generic && !mon.err.lines.some((l) => l.includes("genl: families: nlctrl="))) problems.push("generic netlink not opened");
    if (mon.proc.exitCode !== null) problems.push(`exited ${mon.proc.exitCode}`);
  } finally {
    const code = await mon.stop();
    if (code !== 0) problems.push(`exit status ${code} after SIGTERM`);
    delNs(ns);
  }
  const unexpected = mon.err.lines.filter((l) => /^nlmon: (warn|error)|internal error|config error/.test(l) && !EXPECTED_WARNINGS.some((r) => r.test(l)));
  for (const l of unexpected) problems.push(`unexpected: ${l}`);
  return { file, backend: cfg.netlink.use_libnl ? "libnl" : "legacy", problems, stdoutEvents, err: mon.err.lines };
}

describe("the migration guide's examples run as written", () => {
  test(`all ${files.length} examples, each in its own namespace`, async () => {
    expect(files.length).toBeGreaterThan(30);
    const results: Awaited<ReturnType<typeof runExample>>[] = [];
    // a few at a time: each runs for seconds, mostly waiting
    for (let i = 0; i < files.length; i += 6) {
      results.push(...(await Promise.all(files.slice(i, i + 6).map((f, j) => runExample(f, i + j)))));
    }
    for (const r of results) console.log(`${r.problems.length ? "FAIL" : "ok  "} ${r.backend.padEnd(6)} ${r.file}${r.problems.length ? `: ${r.problems.join("; ")}` : ""}`);
    expect(results.filter((r) => r.problems.length).map((r) => `${r.file}: ${r.problems.join("; ")}`)).toEqual([]);
    // the examples that name libnl ran on it
    expect(results.filter((r) => r.backend === "libnl").length).toBeGreaterThan(20);
  }, 300_000);
});
