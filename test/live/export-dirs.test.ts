/**
 * File exports whose directory does not exist yet (`/var/log/nlmon/events.json` on a fresh box),
 * through dist/nlmon: the last directory is made (mode 0750) and written to; a directory that
 * cannot be made (its parent missing, or not writable for the user nlmon runs as) stops nlmon at
 * start with the config file's line and column and status 2, for the JSON and the pcap export.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BIN, delNs, ensureBinary, ensureLibnl, ip, must, nsName, run, sleep, startNlmon, tempDir, writeConfig } from "./lib.ts";

const ns = nsName("dirs");
let dir = "";

beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  dir = tempDir("dirs");
  // readable by the unprivileged user of the last test
  chmodSync(dir, 0o755);
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** nlmon inherits this process's umask; reading it means setting it, so it is set back at once */
function umask(): number {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
}

const config = (name: string, json: string, pcap: string) => writeConfig(dir, name, [
  "export:",
  "  json:",
  "    enabled: true",
  `    file: ${json}`,
  "  pcap:",
  "    enabled: true",
  `    file: ${pcap}`,
  "",
].join("\n"));

describe("an export file in a directory that does not exist", () => {
  test("is made, mode 0750, for JSON and pcap, and both are written", async () => {
    const jdir = join(dir, "log-json");
    const pdir = join(dir, "log-pcap");
    const cfg = config("made.yaml", join(jdir, "events.json"), join(pdir, "netlink.pcap"));
    const nl = startNlmon({ ns, args: ["--config", cfg] });
    try {
      const end = Date.now() + 15_000;
      let n = 0;
      const written = () => existsSync(join(jdir, "events.json")) && readFileSync(join(jdir, "events.json"), "utf8").includes('"RTM_NEWROUTE"');
      while (!written() && Date.now() < end) {
        ip(ns, "route", "add", `192.0.2.${++n}/32`, "dev", "lo", "table", "20");
        await sleep(200);
      }
      expect(written()).toBe(true);
      expect(await nl.stop()).toBe(0);
      for (const d of [jdir, pdir]) {
        const st = statSync(d);
        expect(st.isDirectory()).toBe(true);
        expect(st.mode & 0o777).toBe(0o750 & ~umask());
      }
      const pcap = readFileSync(join(pdir, "netlink.pcap"));
      expect(pcap.readUInt32LE(0)).toBe(0xa1b23c4d);
      expect(pcap.length).toBeGreaterThan(24);
      expect(nl.err.lines.filter((l) => l.includes("created directory"))).toEqual([
        `nlmon: warn: export: export json: created directory ${jdir}`,
        `nlmon: warn: export: export pcap: created directory ${pdir}`,
      ]);
    } finally {
      await nl.stop();
    }
  }, 60_000);

  test("whose parent is missing too: a located config error, status 2, for each export", () => {
    const cfg = config("deep.yaml", join(dir, "no", "such", "events.json"), join(dir, "nor", "this", "netlink.pcap"));
    // bounded: an nlmon that accepts the config would monitor until killed
    const r = run(["timeout", "10", "ip", "netns", "exec", ns, BIN, "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.err).toBe([
      "nlmon: config error:",
      `${cfg}:4:11: export.json.file: directory ${dir}/no/such does not exist, nor does ${dir}/no (nlmon makes only the last directory)`,
      `${cfg}:7:11: export.pcap.file: directory ${dir}/nor/this does not exist, nor does ${dir}/nor (nlmon makes only the last directory)`,
      "",
    ].join("\n"));
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  test("that the user nlmon runs as may not make: a located config error, status 2", () => {
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o755 });
    const cfg = config("locked.yaml", join(locked, "json", "events.json"), join(locked, "pcap", "netlink.pcap"));
    chmodSync(cfg, 0o644);
    const r = run(["timeout", "10", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN, "--config", cfg]);
    expect(r.code).toBe(2);
    expect(r.err).toBe([
      "nlmon: config error:",
      `${cfg}:4:11: export.json.file: directory ${locked}/json does not exist and cannot be made in ${locked} (EACCES)`,
      `${cfg}:7:11: export.pcap.file: directory ${locked}/pcap does not exist and cannot be made in ${locked} (EACCES)`,
      "",
    ].join("\n"));
  });
});
