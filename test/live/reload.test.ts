/**
 * SIGHUP re-reads the config of a running daemon: what changed takes effect without closing a
 * netlink socket or losing an event; a config that cannot run is rejected with the located error
 * in the log and the old one stays in force. Checked against routes the test adds in a namespace,
 * each one looked for in what nlmon printed.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatusReport } from "../../src/control/protocol.ts";
import type { NlEvent } from "../../src/event/model.ts";
import {
  BACKENDS, type Child, ip, ipBatchAsync, liveFile, nlmonMark, parseEvents, runNlmon, sleep, started, startNlmon, syncMark, textOf, until,
} from "./lib.ts";

const { dir, freshNs, children } = liveFile("reload");



/** SIGHUP, and the index of the log line that says how the reload ended */
async function hup(mon: Child, from = mon.err.lines.length): Promise<number> {
  mon.proc.kill("SIGHUP");
  const i = await mon.err.waitLine((l) => /config: (reloaded|reload rejected|.* is unchanged)/.test(l), 10_000, from);
  if (i < 0) throw new Error(`no word on the reload: ${mon.err.lines.slice(from).join(" / ")}`);
  return i;
}

/**
 * The daemon's status through a config of its own naming only the socket: --status loads the
 * config it is given, and the daemon's may be broken on purpose by now.
 */
function statusOf(cfg: string): StatusReport {
  const sock = /control: \{ socket: (\S+) \}/.exec(readFileSync(cfg, "utf8"))?.[1];
  const client = join(dir, "client.yaml");
  writeFileSync(client, `control: { socket: ${sock} }\n`);
  const r = runNlmon({ args: ["--config", client, "--status", "--json"] });
  if (r.code !== 0) throw new Error(`--status: ${r.err}`);
  return JSON.parse(r.out) as StatusReport;
}

/** whether the file comes to contain the text within 15 s */
const fileHas = async (file: string, text: string) => (await until(() => textOf(file), (t) => t.includes(text), 15_000, 50)).includes(text);

const routesIn = (lines: string[], table: number) =>
  parseEvents(lines).filter((e) => e.type === "route" && e.netlink.route?.table === table && e.netlink.msg_type_name === "RTM_NEWROUTE");

describe("SIGHUP reload", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: 2000 routes added while three reloads apply, one of them replacing the stdout export: every route, once, in order`, async () => {
      const ns = freshNs(`rl${b.name}`);
      const sock = join(dir, `churn-${b.name}.sock`);
      const base = `control: { socket: ${sock} }\n`;
      const cfg = join(dir, `churn-${b.name}.yaml`);
      const variants = [
        `${base}filter: "type == route"\n`,
        // the filter changes (exports kept)
        `${base}filter: "type == route || type == link"\n`,
        // the JSON export's section changes: a new export to the same standard output replaces it
        `${base}filter: "type == route || type == link"\nexport:\n  json: { queue_size: 65000 }\n`,
        // what only a restart applies, beside a log level
        `${base}filter: "type == route || type == link"\nexport:\n  json: { queue_size: 65000 }\nlogging: { level: debug }\nnetlink:\n  buffer_size: { receive: 16777216 }\n`,
      ];
      writeFileSync(cfg, variants[0]!);
      const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
      children.push(mon);
      await started(mon);
      await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);

      const N = 2000;
      const dsts = Array.from({ length: N }, (_, i) => `172.30.${i >> 8}.${i & 255}/32`);
      // twenty batches of a hundred with a pause between, so the reloads land amid the churn: the
      // first reload once the first route is out, the last batch only after the last reload
      let reloadsDone!: () => void;
      const reloaded = new Promise<void>((r) => (reloadsDone = r));
      const churn = (async () => {
        for (let k = 0; k < 20; k++) {
          if (k === 19) await reloaded;
          await ipBatchAsync(ns, dsts.slice(k * 100, (k + 1) * 100).map((d) => `route add ${d} dev lo table 60`));
          await sleep(15);
        }
      })();
      const sent: number[] = [];
      try {
        expect(await mon.out.waitLine((l) => l.includes(`"dst":"${dsts[0]}"`), 15_000)).toBeGreaterThanOrEqual(0);
        for (const v of variants.slice(1)) {
          await sleep(60);
          writeFileSync(cfg, v);
          sent.push(Date.now());
          const at = await hup(mon);
          expect(mon.err.lines[at]).toContain("config: reloaded");
        }
      } finally {
        reloadsDone();
      }
      await churn;
      await syncMark(ns, [{ lines: mon.out, match: nlmonMark }], 30_000);

      const got = routesIn(mon.out.lines, 60);
      // every route once, in the order added
      expect(got.map((e) => e.netlink.route!.dst)).toEqual(dsts);
      // and the reloads did happen while routes were arriving
      const ts = got.map((e) => Date.parse(e.timestamp!));
      expect(ts[0]!).toBeLessThan(sent[0]!);
      expect(ts[N - 1]!).toBeGreaterThan(sent[2]!);
      const log = mon.err.lines.join("\n");
      expect(log).toContain("exports: kept json");
      expect(log).toContain("exports: replaced json");
      expect(log).toMatch(/netlink\.buffer_size changed in .*: it takes effect at the next start/);
      // no netlink socket was reopened: one open, at start
      expect(mon.err.lines.filter((l) => l.includes("NETLINK_ROUTE: backend")).length).toBe(1);
      const st = statusOf(cfg);
      expect(st.process.reloads).toEqual({ accepted: 3, rejected: 0 });
      expect(st.process.config_sha256).toBe(new Bun.CryptoHasher("sha256").update(variants[3]!).digest("hex"));
      // the sockets keep what they were opened with
      expect(st.protocols[0]!.receive_buffer!.configured).toBe(33554432);
      const json = st.exports.find((e) => e.export === "json")!;
      // counts carry over the replaced export
      expect(json.written).toBeGreaterThanOrEqual(N);
      expect(json.dropped).toBe(0);
      expect(await mon.stop()).toBe(0);
    }, 90_000);
  }

  test("a filter change takes effect; a broken config is rejected with its location and the old filter stays", async () => {
    const ns = freshNs("rlf");
    const sock = join(dir, "filter.sock");
    const cfg = join(dir, "filter.yaml");
    const base = `control: { socket: ${sock} }\n`;
    writeFileSync(cfg, `${base}filter: "type == route && netlink.route.table == 70"\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    let k = 0;
    /** a route in each of tables 70 and 71, and then which of them nlmon printed */
    const probe = async (): Promise<number[]> => {
      k++;
      const from = mon.out.lines.length;
      ip(ns, "route", "add", `10.70.${k}.0/24`, "dev", "lo", "table", "70");
      ip(ns, "route", "add", `10.71.${k}.0/24`, "dev", "lo", "table", "71");
      // a mark every filter here passes: a route in table 72 is never printed, so wait on table 70's and 71's
      for (let i = 0; i < 60; i++) {
        await sleep(50);
        const evs = parseEvents(mon.out.lines.slice(from)) as NlEvent[];
        if (evs.some((e) => e.netlink.route?.dst === `10.70.${k}.0/24` || e.netlink.route?.dst === `10.71.${k}.0/24`) && i > 10) break;
      }
      return parseEvents(mon.out.lines.slice(from)).filter((e) => e.type === "route").map((e) => e.netlink.route!.table as number);
    };
    expect(await probe()).toEqual([70]);

    // broken YAML: rejected, located, and the daemon goes on as it was
    writeFileSync(cfg, `${base}filter: "type == route && netlink.route.table == 71"\nnetlink:\n  use_libnl: [oops\n`);
    let at = await hup(mon);
    expect(mon.err.lines[at]).toContain("nlmon: error: config: reload rejected; the running config stays in force:");
    expect(mon.err.lines[at + 1]).toMatch(new RegExp(`^${cfg.replaceAll(".", "\\.")}:\\d+:\\d+: `));
    expect(mon.proc.exitCode).toBeNull();
    expect(await probe()).toEqual([70]);
    let st = statusOf(cfg);
    expect(st.process.reloads.rejected).toBe(1);
    expect(st.process.reloads.accepted).toBe(0);
    expect(st.process.reloads.last_error).toContain(cfg);
    expect(st.filters.filter).toBe("type == route && netlink.route.table == 70");

    // valid YAML that does not validate: the same
    writeFileSync(cfg, `${base}filter: "type == route && netlink.route.tabel == 71"\n`);
    at = await hup(mon);
    expect(mon.err.lines[at]).toContain("reload rejected");
    expect(mon.err.lines.slice(at + 1, at + 3).join("\n")).toContain("tabel");
    expect(await probe()).toEqual([70]);

    // a hook whose program does not exist: rejected as a whole
    writeFileSync(cfg, `${base}filter: "type == route && netlink.route.table == 71"\nhooks:\n  - { name: h, when: "type == route", command: [/nonexistent/prog] }\n`);
    at = await hup(mon);
    expect(mon.err.lines[at]).toContain("reload rejected");
    expect(mon.err.lines.slice(at + 1).join("\n")).toContain("/nonexistent/prog");
    expect(await probe()).toEqual([70]);

    // a valid one: the new filter, from the next event on
    const good = `${base}filter: "type == route && netlink.route.table == 71"\n`;
    writeFileSync(cfg, good);
    at = await hup(mon);
    expect(mon.err.lines[at]).toContain(`config: reloaded ${cfg}`);
    expect(mon.err.lines[at]).toContain('filter "type == route && netlink.route.table == 71"');
    expect(await probe()).toEqual([71]);
    st = statusOf(cfg);
    expect(st.process.reloads).toMatchObject({ accepted: 1, rejected: 3 });
    expect(st.filters.filter).toBe("type == route && netlink.route.table == 71");
    expect(st.process.config_sha256).toBe(new Bun.CryptoHasher("sha256").update(good).digest("hex"));
    // the same file again: nothing to do
    at = await hup(mon);
    expect(mon.err.lines[at]).toContain("is unchanged");
    expect(await mon.stop()).toBe(0);
  }, 60_000);

  test("an export that cannot start rejects the reload; the JSON file moves to a new path without losing a line", async () => {
    const ns = freshNs("rle");
    const sock = join(dir, "exp.sock");
    const cfg = join(dir, "exp.yaml");
    const a = join(dir, "a.json");
    const bfile = join(dir, "b.json");
    const base = `control: { socket: ${sock} }\nfilter: "type == route && netlink.route.table == 80"\n`;
    writeFileSync(cfg, `${base}export:\n  json: { file: ${a} }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    // a port this namespace already uses
    const holder = Bun.spawn(["ip", "netns", "exec", ns, "python3", "-c",
      "import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',19092))\ns.listen()\nprint('up',flush=True)\ntime.sleep(60)"], { stdout: "pipe" });
    try {
      await holder.stdout.getReader().read();
      writeFileSync(cfg, `${base}export:\n  json: { file: ${bfile} }\n  prometheus: { enabled: true, port: 19092 }\n`);
      const at = await hup(mon);
      expect(mon.err.lines[at]).toContain("reload rejected");
      expect(mon.err.lines.slice(at, at + 3).join("\n")).toContain("19092");
      expect(statusOf(cfg).exports.map((e) => e.export)).toEqual(["json"]);
    } finally {
      holder.kill();
    }
    // the file changes during churn: what went to a.json and what goes to b.json make every route once
    const N = 600;
    const dsts = Array.from({ length: N }, (_, i) => `172.29.${i >> 8}.${i & 255}/32`);
    // the reload amid the churn: the last batches wait for it, so both files get routes
    let reloadDone!: () => void;
    const reloaded = new Promise<void>((r) => (reloadDone = r));
    const churn = (async () => {
      for (let k = 0; k < 6; k++) {
        if (k === 4) await reloaded;
        await ipBatchAsync(ns, dsts.slice(k * 100, (k + 1) * 100).map((d) => `route add ${d} dev lo table 80`));
        await sleep(20);
      }
    })();
    try {
      await sleep(40);
      writeFileSync(cfg, `${base}export:\n  json: { file: ${bfile} }\n`);
      const at = await hup(mon);
      expect(mon.err.lines[at]).toContain("exports: replaced json");
    } finally {
      reloadDone();
    }
    await churn;
    expect(await fileHas(bfile, `"${dsts[N - 1]}"`)).toBe(true);
    expect(await mon.stop()).toBe(0);
    const lines = (f: string) => readFileSync(f, "utf8").split("\n").filter(Boolean);
    const inA = routesIn(lines(a), 80).map((e) => e.netlink.route!.dst);
    const inB = routesIn(lines(bfile), 80).map((e) => e.netlink.route!.dst);
    expect([...inA, ...inB]).toEqual(dsts);
    expect(inB.length).toBeGreaterThan(0);
  }, 60_000);

  test("hooks come with a reload, run, show in --status, and the next reload replaces them", async () => {
    const ns = freshNs("rlh");
    const sock = join(dir, "hooks.sock");
    const cfg = join(dir, "hooks.yaml");
    const marks = join(dir, "hook-marks");
    const hook = (name: string, table: number) =>
      `hooks:\n  - { name: ${name}, when: "type == route && netlink.route.table == ${table}", shell: "echo ${name} >> ${marks}" }\n`;
    // none at start: the first reload brings hooks to a daemon that had none
    writeFileSync(cfg, `control: { socket: ${sock} }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    ip(ns, "route", "add", "10.55.0.0/24", "dev", "lo", "table", "55");
    expect(statusOf(cfg).automation.hooks).toEqual([]);
    writeFileSync(cfg, `control: { socket: ${sock} }\n${hook("first", 55)}`);
    expect(mon.err.lines[await hup(mon)]).toContain("1 hooks");
    for (let i = 1; i <= 3; i++) ip(ns, "route", "add", `10.55.${i}.0/24`, "dev", "lo", "table", "55");
    const runsOf = (name: string) => {
      const h = statusOf(cfg).automation.hooks.find((x) => (x as { name?: string }).name === name) as { runs?: { ok?: number } } | undefined;
      return h?.runs?.ok;
    };
    for (let i = 0; i < 100 && runsOf("first") !== 3; i++) await sleep(50);
    expect(runsOf("first")).toBe(3);
    writeFileSync(cfg, `control: { socket: ${sock} }\n${hook("second", 56)}`);
    expect(mon.err.lines[await hup(mon)]).toContain("1 hooks");
    for (let i = 1; i <= 2; i++) ip(ns, "route", "add", `10.56.${i}.0/24`, "dev", "lo", "table", "56");
    ip(ns, "route", "add", "10.55.9.0/24", "dev", "lo", "table", "55");
    for (let i = 0; i < 100 && runsOf("second") !== 2; i++) await sleep(50);
    expect(runsOf("second")).toBe(2);
    expect(statusOf(cfg).automation.hooks.map((h) => (h as { name: string }).name)).toEqual(["second"]);
    expect(await mon.stop()).toBe(0);
    expect(readFileSync(marks, "utf8").split("\n").filter(Boolean)).toEqual(["first", "first", "first", "second", "second"]);
  }, 30_000);

  test("on the embedded default, SIGHUP still reopens export files and says there is no file to re-read", async () => {
    const ns = freshNs("rld");
    const mon = startNlmon({ ns });
    children.push(mon);
    await started(mon);
    mon.proc.kill("SIGHUP");
    expect(await mon.err.waitLine((l) => l.includes("no --config file to re-read"), 5000)).toBeGreaterThanOrEqual(0);
    expect(mon.proc.exitCode).toBeNull();
    expect(await mon.stop()).toBe(0);
  }, 30_000);

  test("SIGHUP after logrotate moved the file: the kept export writes to a new file", async () => {
    const ns = freshNs("rlr");
    const sock = join(dir, "rot.sock");
    const cfg = join(dir, "rot.yaml");
    const f = join(dir, "rot.json");
    writeFileSync(cfg, `control: { socket: ${sock} }\nexport:\n  json: { file: ${f} }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    ip(ns, "route", "add", "10.90.1.0/24", "dev", "lo");
    expect(await fileHas(f, '"10.90.1.0/24"')).toBe(true);
    renameSync(f, `${f}.1`);
    const at = await hup(mon);
    expect(mon.err.lines[at]).toContain("is unchanged");
    ip(ns, "route", "add", "10.90.2.0/24", "dev", "lo");
    expect(await fileHas(f, '"10.90.2.0/24"')).toBe(true);
    expect(await mon.stop()).toBe(0);
    expect(readFileSync(`${f}.1`, "utf8")).toContain('"10.90.1.0/24"');
    expect(readFileSync(f, "utf8")).toContain('"10.90.2.0/24"');
    expect(readFileSync(f, "utf8")).not.toContain('"10.90.1.0/24"');
  }, 30_000);
});
