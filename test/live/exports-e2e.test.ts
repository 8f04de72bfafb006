/**
 * The exports end to end: the real binary (dist/nlmon) runs inside a network namespace the test
 * makes, the test changes routes, addresses and links there with iproute2, and checks what the real
 * consumers got: jq and gunzip on rotated JSON files, a logrotate-style move + SIGHUP, an unwritable
 * path, rsyslogd over unix/udp/tcp in both RFC formats, promtool and a prometheus server scraping
 * /metrics, tshark on the pcap capture and `nlmon --replay` of it.
 * Collectors listen on the namespace's own loopback; every namespace and process is removed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import { NETLINK_ERROR_KINDS } from "../../src/metrics/registry.ts";
import {
  type Child, BACKENDS, BIN, delNs, ensureBinary, ensureLibnl, ensureTool, ip, ipBatchAsync, makeNs, nlmonMark, nsName, run,
  sleep, startNlmon, syncMark, tempDir,
} from "./lib.ts";
import {
  type Collector, curlNs, parseExposition, type Rsyslog, sumOf, startPrometheus, startRsyslog, until,
} from "./collectors.ts";

const NLM_F_MULTI = 2;
/** another build to run instead of dist/nlmon (e.g. a deliberately broken one, to see these tests fail) */
const NLMON_BIN = process.env.NLMON_E2E_BIN || BIN;
const METRICS_PORT = 9100;

// ---------------------------------------------------------------------------------------------
// bookkeeping: everything started here is stopped in afterAll even when a test throws

const namespaces: string[] = [];
const dirs: string[] = [];
const children: Child[] = [];
const collectors: Collector[] = [];

async function newNs(tag: string): Promise<string> {
  const ns = nsName(`e2e-${tag}`);
  await makeNs(ns);
  namespaces.push(ns);
  return ns;
}

function newDir(tag: string): string {
  const d = tempDir(`e2e-${tag}`);
  dirs.push(d);
  return d;
}

/** nlmon in the namespace with a config file written from `yaml` */
function nlmon(ns: string, dir: string, yaml: string, env: Record<string, string> = {}): Child {
  const cfg = join(dir, "nlmon.yaml");
  writeFileSync(cfg, yaml);
  const c = startNlmon({ ns, args: ["--config", cfg], env, bin: NLMON_BIN });
  children.push(c);
  return c;
}

/** stderr of nlmon is complete only after it exited; the lines so far otherwise */
const stderrOf = (c: Child) => c.err.lines.join("\n");

/** wait until nlmon has joined its groups (it logs the backend once its sockets are up) */
async function subscribed(c: Child): Promise<void> {
  const i = await c.err.waitLine((l) => /backend (libnl|legacy)/.test(l), 20_000);
  if (i < 0) throw new Error(`nlmon did not start: exit ${c.proc.exitCode}; stderr: ${stderrOf(c)}`);
}

let markNo = 0;
/**
 * Add blackhole marks (198.19.X.Y/32 proto 77, main table) until `seen` reports one, so what the test
 * does next is certainly observed. Returns the marks added.
 */
async function mark(ns: string, seen: (dst: string) => boolean, timeoutMs = 15_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  const added: string[] = [];
  while (Date.now() < end) {
    const k = ++markNo;
    const dst = `198.19.${(k >> 8) & 255}.${k & 255}`;
    ip(ns, "route", "add", "blackhole", dst, "proto", "77");
    added.push(dst);
    const ok = await until(() => seen(dst), (v) => v, 1500, 50);
    if (ok) return added;
  }
  throw new Error(`no mark route reported within ${timeoutMs} ms`);
}

function scrape(ns: string, port = METRICS_PORT) {
  const r = curlNs(ns, `http://127.0.0.1:${port}/metrics`);
  if (r.code !== 200) throw new Error(`GET /metrics in ${ns}: HTTP ${r.code}`);
  return parseExposition(r.body);
}

async function metricsUp(ns: string, c: Child, port = METRICS_PORT) {
  const code = await until(() => curlNs(ns, `http://127.0.0.1:${port}/metrics`).code, (v) => v === 200 || c.proc.exitCode !== null, 20_000);
  if (code !== 200) throw new Error(`nlmon's /metrics not served (HTTP ${code}); nlmon ${c.proc.exitCode === null ? "running" : "exited " + c.proc.exitCode}; stderr: ${stderrOf(c)}`);
}

const eventsTotal = (ns: string) => sumOf(scrape(ns), "nlmon_events_total");

/** poll until the value stops changing for `quietMs` (and satisfies cond); returns it */
async function settled<T>(get: () => T, cond: (v: T) => boolean, timeoutMs: number, quietMs = 1000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = get();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(100);
    const v = get();
    if (JSON.stringify(v) !== JSON.stringify(last)) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs && cond(v)) {
      return v;
    }
  }
  return last;
}

/** the i-th test route of a table-specific block: 10.A.X.Y/32 */
const ipv4Dst = (i: number, a: number) => `10.${a}.${i >> 8}.${i & 255}/32`;

// ---------------------------------------------------------------------------------------------
// files

interface Checked { lines: string[]; bytes: number }

/** A file's text checked the way a consumer would: ends in a newline, and jq reads it line for line. */
function checkNdjson(text: string, what: string): Checked {
  if (text === "") return { lines: [], bytes: 0 };
  expect(text.endsWith("\n") ? "ends with a newline" : `${what}: last line torn: ${text.slice(-120)}`).toBe("ends with a newline");
  const lines = text.slice(0, -1).split("\n");
  const jq = Bun.spawnSync(["jq", "-c", "."], { stdin: Buffer.from(text), stdout: "pipe", stderr: "pipe" });
  expect(`${what}: jq exit ${jq.exitCode} ${jq.stderr.toString().trim()}`).toBe(`${what}: jq exit 0 `);
  // one value per input line: a line holding two objects or a torn one would change the count
  const jqLines = jq.stdout.toString().split("\n").filter((l) => l !== "");
  expect(jqLines.length).toBe(lines.length);
  for (const l of lines) JSON.parse(l);
  return { lines, bytes: Buffer.byteLength(text) };
}

/** gunzip -c, for real */
function gunzip(path: string): string {
  const r = Bun.spawnSync(["gunzip", "-c", path], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`gunzip ${path}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** rotated generations of `base` in dir: numbers, and whether any is still uncompressed or mid-compression */
function generations(dir: string, base: string): { gz: number[]; plain: number[]; tmp: string[] } {
  const gz: number[] = [], plain: number[] = [], tmp: string[] = [];
  for (const n of readdirSync(dir)) {
    if (!n.startsWith(base + ".")) continue;
    const rest = n.slice(base.length + 1);
    let m: RegExpExecArray | null;
    if ((m = /^(\d+)\.gz$/.exec(rest))) gz.push(Number(m[1]));
    else if ((m = /^(\d+)$/.exec(rest))) plain.push(Number(m[1]));
    else if (rest.endsWith(".tmp")) tmp.push(n);
  }
  return { gz: gz.sort((a, b) => a - b), plain: plain.sort((a, b) => a - b), tmp };
}

const routeOf = (l: string) => (JSON.parse(l) as NlEvent).netlink.route;

// ---------------------------------------------------------------------------------------------

beforeAll(() => {
  if (!process.env.NLMON_E2E_BIN) ensureBinary();
  ensureLibnl();
  for (const [bin, pkg] of [["jq", "jq"], ["curl", "curl"], ["gunzip", "gzip"], ["rsyslogd", "rsyslog"], ["prometheus", "prometheus"],
    ["promtool", "prometheus"], ["tshark", "tshark"], ["ss", "iproute2"]] as const) {
    if (bin === "rsyslogd" && Bun.which("rsyslogd", { PATH: "/usr/sbin:/sbin:/usr/bin" })) continue;
    ensureTool(bin, pkg);
  }
}, 600_000);

afterAll(async () => {
  for (const c of collectors) await c.stop().catch(() => {});
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
  for (const ns of namespaces) delNs(ns);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------------------------------------
// 1. JSON file export: size rotation with gzip, logrotate's move + SIGHUP

const ROUTES = 20_000;
const MAX_SIZE = 200_000;

for (const keep of [100, 3] as const) {
  describe(`JSON file export, rotation at ${MAX_SIZE} bytes, keep ${keep}, gzip`, () => {
    let ns: string, dir: string, file: string, child: Child;
    const base = "events.json";
    /** lines per file after the burst, oldest first, the live file last */
    let files: { name: string; lines: string[]; bytes: number }[] = [];
    let total = 0;

    beforeAll(async () => {
      ns = await newNs(`json${keep}`);
      dir = newDir(`json${keep}`);
      file = join(dir, base);
      child = nlmon(ns, dir, [
        "export:",
        `  json: { enabled: true, file: "${file}", rotate: { max_size: ${MAX_SIZE}, keep: ${keep}, compress: true } }`,
        `  prometheus: { enabled: true, address: 127.0.0.1, port: ${METRICS_PORT} }`,
        "",
      ].join("\n"));
      await subscribed(child);
      await metricsUp(ns, child);
      await mark(ns, () => eventsTotal(ns) > 0);
    }, 60_000);

    afterAll(async () => {
      await child?.stop();
    }, 30_000);

    test(`${ROUTES} route adds: every file is whole lines jq reads, sizes bounded, events in order${keep === 100 ? ", all of them" : ", the newest kept"}`, async () => {
      await ipBatchAsync(ns, Array.from({ length: ROUTES }, (_, i) => `route add blackhole ${ipv4Dst(i, 13)} table 13`));
      // nlmon has decoded everything once its event counter stops moving
      const reported = await settled(() => eventsTotal(ns), (v) => v >= ROUTES, 60_000);
      expect(reported).toBeGreaterThanOrEqual(ROUTES);
      // and the files are complete once no rotated file waits for gzip and the last route is on disk
      const lastDst = `${ipv4Dst(ROUTES - 1, 13)}`;
      await settled(() => {
        const g = generations(dir, base);
        return { ...g, live: existsSync(file) ? statSync(file).size : -1 };
      }, (g) => g.plain.length === 0 && g.tmp.length === 0 && existsSync(file) && readFileSync(file, "utf8").includes(`"${lastDst}"`), 60_000);

      const g = generations(dir, base);
      expect(g.plain).toEqual([]);
      expect(g.tmp).toEqual([]);
      if (keep === 3) {
        expect(g.gz).toEqual([1, 2, 3]);
      } else {
        // roughly 400-byte lines: ~40 generations, numbered 1..n without gaps, none dropped
        expect(g.gz.length).toBeGreaterThan(10);
        expect(g.gz.length).toBeLessThan(keep);
        expect(g.gz).toEqual(Array.from({ length: g.gz.length }, (_, i) => i + 1));
      }
      files = [...g.gz].reverse().map((n) => ({ name: `${base}.${n}.gz`, ...checkNdjson(gunzip(join(dir, `${base}.${n}.gz`)), `${base}.${n}.gz`) }));
      files.push({ name: base, ...checkNdjson(readFileSync(file, "utf8"), base) });

      // rotation happens exactly when the next line would not fit: no file over the limit, and
      // each rotated one plus the first line of the next is
      for (let i = 0; i < files.length - 1; i++) {
        expect(files[i]!.bytes).toBeLessThanOrEqual(MAX_SIZE);
        expect(files[i]!.bytes + Buffer.byteLength(files[i + 1]!.lines[0]! + "\n")).toBeGreaterThan(MAX_SIZE);
      }
      expect(files.at(-1)!.bytes).toBeLessThanOrEqual(MAX_SIZE);

      // the table-13 routes, oldest file first: consecutive adds in the order ip -batch made them
      const all = files.flatMap((f) => f.lines);
      const t13 = all.map(routeOf).filter((r) => r?.table === 13);
      const first = keep === 3 ? ROUTES - t13.length : 0;
      expect(t13.length).toBeGreaterThan(0);
      const want = Array.from({ length: ROUTES - first }, (_, k) => `${ipv4Dst(first + k, 13)}`);
      expect(t13.map((r) => r!.dst)).toEqual(want);
      if (keep === 100) {
        // all of it: the lines on disk are exactly the events nlmon counted
        expect(all.length).toBe(eventsTotal(ns));
        expect(t13.length).toBe(ROUTES);
      } else {
        // only what fits in keep+1 files of at most MAX_SIZE
        expect(t13.length).toBeLessThan(ROUTES);
        expect(files.reduce((n, f) => n + f.bytes, 0)).toBeLessThanOrEqual((keep + 1) * MAX_SIZE);
      }
      const s = scrape(ns);
      expect(sumOf(s, "nlmon_export_errors_total", { export: "json" })).toBe(0);
      expect(sumOf(s, "nlmon_export_dropped_total", { export: "json" })).toBe(0);
      total = all.length;
    }, 180_000);

    test("logrotate: the file moved away and SIGHUP: the moved file is complete, the new one gets what follows", async () => {
      expect(files.length).toBeGreaterThan(0);
      const liveBefore = files.at(-1)!.lines;
      const countedBefore = eventsTotal(ns);
      const moved = join(dir, "moved-away.json");
      renameSync(file, moved);
      const from = child.err.lines.length;
      process.kill(child.proc.pid, "SIGHUP");
      expect(await child.err.waitLine((l) => l.includes("SIGHUP: reopening export files"), 5000, from)).toBeGreaterThanOrEqual(0);

      const N = 50;
      await ipBatchAsync(ns, Array.from({ length: N }, (_, i) => `route add blackhole ${ipv4Dst(i, 14)} table 14`));
      const counted = await settled(() => eventsTotal(ns), (v) => v >= countedBefore + N, 20_000);
      expect(counted).toBe(countedBefore + N);
      const fresh = await settled(() => (existsSync(file) ? readFileSync(file, "utf8") : ""), (t) => t.split("\n").length > N, 20_000);

      // the new file: exactly the events after the HUP, whole lines, in order
      const after = checkNdjson(fresh, "new file").lines;
      expect(after.length).toBe(counted - countedBefore);
      expect(after.map((l) => routeOf(l)?.dst)).toEqual(Array.from({ length: N }, (_, i) => `${ipv4Dst(i, 14)}`));
      // the moved file: what it held, untouched and whole, ending with the last route of the burst
      const old = checkNdjson(readFileSync(moved, "utf8"), "moved file").lines;
      expect(old).toEqual(liveBefore);
      expect(routeOf(old.at(-1)!)?.dst).toBe(`${ipv4Dst(ROUTES - 1, 13)}`);
      // rotated generations did not move
      expect(generations(dir, base).gz.length).toBe(files.length - 1);
      // with nothing dropped by rotation, the rotated files, the moved one and the new one hold every event counted
      if (keep === 100) expect(total + after.length).toBe(counted);
      expect(child.proc.exitCode).toBeNull();
    }, 60_000);
  });
}

// ---------------------------------------------------------------------------------------------
// 2. an unwritable path

describe("JSON export to a path that cannot be opened", () => {
  test("nlmon runs on, says which path, counts the errors, Prometheus still serves; the file appears once it can", async () => {
    const ns = await newNs("unwritable");
    const dir = newDir("unwritable");
    // a directory where the file should be: the config check passes (the directory holding it
    // exists), and every open fails until it goes; a missing directory is made or refused at
    // start instead (export-dirs.test.ts)
    const file = join(dir, "events.json");
    mkdirSync(file);
    const child = nlmon(ns, dir, [
      "export:",
      `  json: { enabled: true, file: "${file}" }`,
      `  prometheus: { enabled: true, address: 127.0.0.1, port: ${METRICS_PORT} }`,
      "",
    ].join("\n"));
    try {
      await subscribed(child);
      await metricsUp(ns, child);
      const marks = await mark(ns, () => eventsTotal(ns) > 0);
      for (let i = 0; i < 5; i++) ip(ns, "route", "add", "blackhole", `${ipv4Dst(i, 15)}`, "table", "15");

      const errs = await until(() => sumOf(scrape(ns), "nlmon_export_errors_total", { export: "json" }), (v) => v >= 2, 10_000);
      // the open at start, and the write of the first batch
      expect(errs).toBeGreaterThanOrEqual(2);
      expect(await child.err.waitLine((l) => l.includes(file), 5000)).toBeGreaterThanOrEqual(0);
      expect(stderrOf(child)).toMatch(/EISDIR/);
      await sleep(500);
      expect(child.proc.exitCode).toBeNull();
      // the rest of the process is fine: metrics still served and still counting
      const before = eventsTotal(ns);
      ip(ns, "route", "add", "blackhole", `${ipv4Dst(9, 15)}`, "table", "15");
      expect(await until(() => eventsTotal(ns), (v) => v > before, 5000)).toBeGreaterThan(before);
      // a failing export logs a run of failures once, not once per retry
      const lines = child.err.lines.filter((l) => l.includes(file));
      expect(lines.length).toBeLessThanOrEqual(3);

      // the path is freed: the queued events are written on the next retry, none lost
      rmdirSync(file);
      const text = await until(() => (existsSync(file) ? readFileSync(file, "utf8") : ""), (t) => t.includes(`"${ipv4Dst(9, 15)}"`), 45_000, 250);
      const got = checkNdjson(text, "recovered file").lines;
      const dsts = got.map((l) => routeOf(l)?.dst);
      for (const m of marks) expect(dsts).toContain(`${m}/32`);
      for (const i of [0, 1, 2, 3, 4, 9]) expect(dsts).toContain(`${ipv4Dst(i, 15)}`);
      expect(got.length).toBe(eventsTotal(ns));
      expect(await child.err.waitLine((l) => l.includes("export json: recovered"), 5000)).toBeGreaterThanOrEqual(0);
      expect(sumOf(scrape(ns), "nlmon_export_dropped_total", { export: "json" })).toBe(0);
    } finally {
      await child.stop();
    }
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
// 3. syslog into a real rsyslogd

describe("syslog export into rsyslogd", () => {
  let ns: string, dir: string, rs: Rsyslog;
  let caseNo = 0;

  beforeAll(async () => {
    ns = await newNs("syslog");
    dir = newDir("syslog");
    rs = await startRsyslog(ns, dir);
    collectors.push(rs);
  }, 60_000);

  afterAll(async () => {
    await rs?.stop();
  });

  const FAC = { rfc5424: ["local5", 21], rfc3164: ["daemon", 3] } as const;

  for (const transport of ["unix", "udp", "tcp"] as const) {
    for (const format of ["rfc5424", "rfc3164"] as const) {
      test(`${transport}, ${format}: route adds (info) and deletes (notice) arrive with app nlmon and the event JSON as message`, async () => {
        const k = ++caseNo;
        const [facName, fac] = FAC[format];
        const cdir = join(dir, `case${k}`);
        mkdirSync(cdir);
        const child = nlmon(ns, cdir, [
          "export:",
          '  json: { enabled: true, file: "-" }',
          `  syslog: { enabled: true, transport: ${transport}, path: "${rs.socket}", host: 127.0.0.1, ` +
            `port: ${transport === "udp" ? rs.udpPort : rs.tcpPort}, format: ${format}, facility: ${facName}, app_name: nlmon }`,
          "",
        ].join("\n"));
        try {
          await subscribed(child);
          await syncMark(ns, [{ lines: child.out, match: nlmonMark }]);
          const dst = (j: number) => `10.16.${k}.${j}/32`;
          const mine = (msg: string) => msg.includes(`"dst":"10.16.${k}.`);
          for (let j = 0; j < 5; j++) ip(ns, "route", "add", "blackhole", dst(j), "table", "16");
          for (let j = 0; j < 5; j++) ip(ns, "route", "del", "blackhole", dst(j), "table", "16");

          const got = await until(() => rs.received().filter((r) => mine(r.msg)), (g) => g.length >= 10, 15_000, 100);
          await sleep(300);
          const recs = rs.received().filter((r) => mine(r.msg));
          expect(recs.length).toBe(10);
          expect(got.length).toBe(10);
          // the same events on nlmon's stdout, for comparison byte by byte
          const stdout = child.out.lines.filter(mine);
          expect(stdout.length).toBe(10);

          recs.forEach((r, i) => {
            const ev = JSON.parse(r.msg) as NlEvent;
            expect(r.msg).toBe(stdout[i]!);
            const del = ev.netlink.msg_type_name === "RTM_DELROUTE";
            expect(ev.netlink.msg_type_name).toBe(i < 5 ? "RTM_NEWROUTE" : "RTM_DELROUTE");
            expect(ev.netlink.route!.dst).toBe(dst(i % 5));
            expect(r.input).toBe({ unix: "imuxsock", udp: "imudp", tcp: "imtcp" }[transport]);
            expect(r.severity).toBe(del ? 5 : 6);
            expect(r.facility).toBe(facName);
            expect(r.pri).toBe(fac * 8 + (del ? 5 : 6));
            expect(r.app).toBe("nlmon");
            expect(r.procid).toBe(String(child.proc.pid));
            const evMs = Date.parse(ev.timestamp!);
            if (format === "rfc5424") {
              expect(r.msgid).toBe("route");
              expect(r.host).toBe(hostname());
              // the kernel receive time to the microsecond
              expect(r.time.slice(0, 26)).toBe(ev.timestamp!.slice(0, 26));
            } else {
              expect(r.host).toBe(hostname().split(".")[0]!);
              // local time to the second
              const t = Date.parse(r.time);
              expect(Math.floor(evMs / 1000) * 1000 - t).toBe(0);
            }
          });
          expect(child.proc.exitCode).toBeNull();
        } finally {
          expect(await child.stop()).toBe(0);
        }
      }, 60_000);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// 4. Prometheus: promtool, route gauges from the route cache, a real prometheus scraping

describe("Prometheus export with the route cache", () => {
  let ns: string, dir: string, child: Child;
  const PROMETHEUS_PORT = 9091;

  beforeAll(async () => {
    ns = await newNs("prom");
    dir = newDir("prom");
    child = nlmon(ns, dir, [
      "netlink:",
      "  caching: { enabled: true, route_cache: true }",
      "export:",
      "  json: { enabled: false }",
      `  prometheus: { enabled: true, address: 127.0.0.1, port: ${METRICS_PORT} }`,
      "",
    ].join("\n"));
    await subscribed(child);
    await metricsUp(ns, child);
    await mark(ns, () => sumOf(scrape(ns), "nlmon_route_changes_total", { op: "add" }) > 0);
  }, 60_000);

  afterAll(async () => {
    await child?.stop();
  }, 30_000);

  function promtool(body: string) {
    const r = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: Buffer.from(body), stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, out: (r.stdout.toString() + r.stderr.toString()).trim() };
  }

  /** names iproute2 gives protocol 201, if any: nlmon may use them for the label */
  function protoNames(n: number): string[] {
    const names = [String(n)];
    for (const d of ["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"]) {
      const files = [join(d, "rt_protos"), ...(existsSync(join(d, "rt_protos.d")) ? readdirSync(join(d, "rt_protos.d")).map((f) => join(d, "rt_protos.d", f)) : [])];
      for (const f of files) {
        if (!existsSync(f)) continue;
        for (const l of readFileSync(f, "utf8").split("\n")) {
          const m = /^\s*(\d+|0x[0-9a-f]+)\s+(\S+)/i.exec(l);
          if (m && Number(m[1]) === n) names.push(m[2]!);
        }
      }
    }
    return names;
  }

  const t17 = () => scrape(ns).filter((s) => s.name === "nlmon_routes" && s.labels.table === "17");
  const changes = (op: string) => sumOf(scrape(ns), "nlmon_route_changes_total", { table: "17", op });
  const dst17 = (i: number) => `10.17.${i >> 8}.${i & 255}/32`;

  test("300 routes into table 17 proto 201, then 100 removed: nlmon_routes follows, changes counted, promtool accepts", async () => {
    const first = curlNs(ns, `http://127.0.0.1:${METRICS_PORT}/metrics`).body;
    const clean = promtool(first);
    expect(clean.out).toBe("");
    expect(clean.code).toBe(0);
    // before any error: the series an overrun or decode alert watches are there, at 0
    for (const kind of NETLINK_ERROR_KINDS) expect(first).toContain(`nlmon_netlink_errors_total{protocol="NETLINK_ROUTE",kind="${kind}"} 0\n`);

    await ipBatchAsync(ns, Array.from({ length: 300 }, (_, i) => `route add ${dst17(i)} via 10.9.0.2 dev v0 table 17 proto 201`));
    const up = await until(() => t17().reduce((n, s) => n + s.value, 0), (v) => v === 300, 15_000);
    expect(up).toBe(300);
    const series = t17();
    expect(series.length).toBe(1);
    expect(series[0]!.labels.family).toBe("inet");
    // the number, the same on every host; the name this host's rt_protos gives it beside it
    expect(series[0]!.labels.route_protocol).toBe("201");
    expect(protoNames(201)).toContain(series[0]!.labels.route_protocol_name!);
    expect(series[0]!.labels.protocol).toBeUndefined();
    expect(await until(() => changes("add"), (v) => v >= 300, 5000)).toBe(300);
    expect(run(["ip", "-n", ns, "route", "show", "table", "17"]).out.trim().split("\n").length).toBe(300);

    await ipBatchAsync(ns, Array.from({ length: 100 }, (_, i) => `route del ${dst17(i)} table 17`));
    expect(await until(() => t17().reduce((n, s) => n + s.value, 0), (v) => v === 200, 15_000)).toBe(200);
    expect(await until(() => changes("del"), (v) => v >= 100, 5000)).toBe(100);
    expect(changes("add")).toBe(300);

    const body = curlNs(ns, `http://127.0.0.1:${METRICS_PORT}/metrics`).body;
    const lint = promtool(body);
    expect(lint.out).toBe("");
    expect(lint.code).toBe(0);
    expect(body).toMatch(/^nlmon_routes\{family="inet",table="17",route_protocol="201",route_protocol_name="[^"]+"\} 200$/m);
    // the README's example picks out exactly the route metrics of protocol 201
    const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
    const grep = new RegExp(/grep -E '(\^nlmon_route[^']*)'/.exec(readme)![1]!);
    const picked = body.split("\n").filter((l) => grep.test(l));
    expect(picked.length).toBeGreaterThanOrEqual(3);
    expect(picked.every((l) => /^nlmon_route(s|_changes_total)\{.*route_protocol="201",/.test(l))).toBe(true);
    expect(picked).toContainEqual(expect.stringMatching(/^nlmon_routes\{family="inet",table="17",.* 200$/));
    // the namespace's proto 186 routes are served, and left out
    expect(body).toMatch(/^nlmon_routes\{.*route_protocol="186",/m);
  }, 60_000);

  test("a prometheus server in the namespace scrapes nlmon; nlmon_netlink_messages_total grows with the changes the test makes", async () => {
    const promDir = join(dir, "prometheus");
    mkdirSync(promDir);
    const prom = await startPrometheus(ns, promDir, METRICS_PORT, PROMETHEUS_PORT);
    collectors.push(prom);
    try {
      const direct = () => sumOf(scrape(ns), "nlmon_netlink_messages_total");
      const viaProm = async () => (await prom.query("sum(nlmon_netlink_messages_total)"))?.values[0]?.value;

      const m1 = direct();
      expect(m1).toBeGreaterThanOrEqual(400);
      expect(await until(viaProm, (v) => v === m1, 30_000, 250)).toBe(m1);
      const upQ = await prom.query('up{job="nlmon"}');
      expect(upQ?.values.map((v) => v.value)).toEqual([1]);
      const raw = await prom.query("nlmon_netlink_messages_total");
      expect(raw?.status).toBe("success");
      const newroute = raw!.values.find((v) => v.metric.msg_type === "RTM_NEWROUTE");
      expect(newroute?.metric.job).toBe("nlmon");
      expect(newroute!.value).toBeGreaterThanOrEqual(300);

      await ipBatchAsync(ns, Array.from({ length: 50 }, (_, i) => `route add ${dst17(1000 + i)} via 10.9.0.2 dev v0 table 17 proto 201`));
      const m2 = await until(direct, (v) => v >= m1 + 50, 10_000);
      expect(m2).toBe(m1 + 50);
      expect(await until(viaProm, (v) => v === m2, 20_000, 250)).toBe(m2);
      const after = await prom.query('nlmon_netlink_messages_total{msg_type="RTM_NEWROUTE"}');
      expect(after!.values[0]!.value).toBe(newroute!.value + 50);
    } finally {
      await prom.stop();
    }
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
// 5. pcap capture: tshark reads it, --replay gives back the live events

for (const backend of BACKENDS) {
  describe(`pcap export and --replay, ${backend.name} backend`, () => {
    test("churn captured: tshark dissects every record as rtnetlink; --replay exports the live events byte for byte; a cut capture fails cleanly", async () => {
      const ns = await newNs(`pcap-${backend.name}`);
      const dir = newDir(`pcap-${backend.name}`);
      const cap = join(dir, "capture.pcap");
      const live = join(dir, "live.json");
      const child = nlmon(ns, dir, [
        "export:",
        `  json: { enabled: true, file: "${live}" }`,
        `  pcap: { enabled: true, file: "${cap}" }`,
        "",
      ].join("\n"), backend.env);
      const liveText = () => (existsSync(live) ? readFileSync(live, "utf8") : "");
      try {
        await subscribed(child);
        await mark(ns, (d) => liveText().includes(`"${d}/32"`));

        // churn: routes (v4, v6, replace, delete), addresses, link down/up, mtu, a dummy link
        await ipBatchAsync(ns, [
          ...Array.from({ length: 40 }, (_, i) => `route add 10.18.${i}.0/24 via 10.9.0.2 table 18 proto 201`),
          ...Array.from({ length: 10 }, (_, i) => `route replace 10.18.${i}.0/24 via 10.9.0.3 table 18 proto 201 metric 0`),
          ...Array.from({ length: 10 }, (_, i) => `route add 2001:db8:18:${i}::/64 via 2001:db8:9::2 table 18`),
          ...Array.from({ length: 20 }, (_, i) => `route del 10.18.${i + 20}.0/24 table 18`),
          "addr add 10.18.200.1/24 dev v1",
          "addr add 2001:db8:18:ff::1/64 dev v1 nodad",
          "link set v1 down",
          "link set v1 up",
          "link set v0 mtu 1400",
          "addr del 10.18.200.1/24 dev v1",
          "link add d18 type veth peer name d18p",
          "link set d18 up",
          "addr add 10.18.201.1/24 dev d18",
          "link del d18",
        ]);
        const last = await mark(ns, (d) => liveText().includes(`"${d}/32"`));
        await settled(() => liveText().length, () => true, 10_000, 1000);
        expect(await child.stop()).toBe(0);
        expect(stderrOf(child)).not.toMatch(/error|warn/i);

        const liveLines = checkNdjson(liveText(), "live.json").lines;
        expect(liveLines.some((l) => l.includes(`"${last.at(-1)}/32"`))).toBe(true);
        for (const t of ["RTM_NEWROUTE", "RTM_DELROUTE", "RTM_NEWADDR", "RTM_DELADDR", "RTM_NEWLINK", "RTM_DELLINK"])
          expect(liveLines.some((l) => l.includes(`"msg_type_name":"${t}"`)) ? t : `${t} missing`).toBe(t);

        // tshark: every frame is netlink, dissected as rtnetlink, nothing malformed
        const f = run(["tshark", "-r", cap, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "frame.protocols",
          "-e", "netlink.hdr_type", "-e", "netlink.hdr_flags", "-e", "netlink.hdr_seq", "-e", "netlink-route.nltype"]);
        expect(f.err.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Running as user")).join("\n")).toBe("");
        expect(f.code).toBe(0);
        const rows = f.out.trim().split("\n").map((l) => l.split("|"));
        // rtnetlink messages dissect as netlink-route; the dumps' NLMSG_DONE (type 3, a control
        // message of netlink itself) as netlink with its payload as data
        const typeOf = (r: string[]) => Number(r[5] || r[2]);
        rows.forEach((r, i) => {
          expect(Number(r[0])).toBe(i + 1);
          expect(`${typeOf(r)} ${r[1]}`).toBe(typeOf(r) >= 16 ? `${typeOf(r)} netlink:netlink-route` : "3 netlink:data");
        });
        const bad = run(["tshark", "-r", cap, "-Y", "_ws.malformed || _ws.expert.severity >= 8388608"]);
        expect(bad.code).toBe(0);
        expect(bad.out.trim()).toBe("");
        // the capture starts with the link dump nlmon primes from (NLM_F_MULTI, ending in NLMSG_DONE);
        // after it, one record per live event, which tshark reads as the same message type and seq
        const flags = rows.map((r) => Number(r[3]));
        const firstLive = flags.findIndex((fl) => !(fl & NLM_F_MULTI));
        expect(firstLive).toBeGreaterThan(0);
        expect(typeOf(rows[firstLive - 1]!)).toBe(3); // NLMSG_DONE
        const liveRows = rows.slice(firstLive);
        expect(liveRows.some((r) => Number(r[3]) & NLM_F_MULTI)).toBe(false);
        const fromTshark = liveRows.map((r) => `${typeOf(r)} ${r[4]}`);
        const fromNlmon = liveLines.map((l) => {
          const e = JSON.parse(l) as NlEvent;
          return `${e.netlink.msg_type} ${e.netlink.seq}`;
        });
        expect(fromTshark).toEqual(fromNlmon);

        // --replay with a JSON file export: the live events again, timestamps included
        const rdir = join(dir, "replay");
        mkdirSync(rdir);
        const out = join(rdir, "replay.json");
        const rcfg = join(rdir, "replay.yaml");
        writeFileSync(rcfg, `export:\n  json: { enabled: true, file: "${out}" }\n`);
        const r = run([NLMON_BIN, "--config", rcfg, "--replay", cap]);
        expect(r.err.trim()).toBe("");
        expect(r.code).toBe(0);
        const replayed = checkNdjson(readFileSync(out, "utf8"), "replay.json").lines;
        const dump = replayed.filter((l) => ((JSON.parse(l) as NlEvent).netlink.msg_flags & NLM_F_MULTI) !== 0);
        const rest = replayed.filter((l) => ((JSON.parse(l) as NlEvent).netlink.msg_flags & NLM_F_MULTI) === 0);
        expect(dump.length).toBeGreaterThan(0);
        // the dump of what nlmon caches (links, addresses by default)
        expect(dump.every((l) => l.includes('"msg_type_name":"RTM_NEWLINK"') || l.includes('"msg_type_name":"RTM_NEWADDR"'))).toBe(true);
        expect(dump.filter((l) => l.includes('"RTM_NEWLINK"')).length).toBe(3); // lo, v0, v1
        expect(replayed.slice(0, dump.length)).toEqual(dump);
        expect(rest.length).toBe(liveLines.length);
        for (let i = 0; i < rest.length; i++) {
          if (rest[i] !== liveLines[i]) expect({ i, replay: rest[i] }).toEqual({ i, replay: liveLines[i] });
        }

        // a capture cut in the middle of a record
        const whole = readFileSync(cap);
        const cut = join(rdir, "cut.pcap");
        writeFileSync(cut, whole.subarray(0, whole.length - 7));
        const out2 = join(rdir, "cut.json");
        writeFileSync(rcfg, `export:\n  json: { enabled: true, file: "${out2}" }\n`);
        const c = run([NLMON_BIN, "--config", rcfg, "--replay", cut]);
        expect(c.code).not.toBe(0);
        expect(c.err).toMatch(/byte offset \d+/);
        expect(c.err).toContain(cut);
        expect(c.err).not.toMatch(/^\s+at /m);
        expect(c.err.trim().split("\n").length).toBe(1);
        // what came before the cut was still exported: all but the last record's events, whole lines
        const before = checkNdjson(readFileSync(out2, "utf8"), "cut.json").lines;
        expect(before).toEqual(replayed.slice(0, before.length));
        expect(before.length).toBeGreaterThanOrEqual(replayed.length - 1);
        expect(before.length).toBeLessThan(replayed.length);
      } finally {
        await child.stop();
      }
    }, 120_000);
  });
}
