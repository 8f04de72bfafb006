/**
 * Helpers for the live tests that drive the real binary (dist/nlmon) inside network namespaces
 * against real iproute2. Every namespace a test makes is named "nlmlive-..." and removed by the
 * test itself (afterAll / finally); nothing here touches the host's own interfaces or routes.
 */
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BIN = join(ROOT, "dist/nlmon");

// ---------------------------------------------------------------------------------------------
// processes

export interface RunResult { code: number; out: string; err: string }

export function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string } = {}): RunResult {
  const r = Bun.spawnSync(cmd, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    stdin: opts.stdin !== undefined ? Buffer.from(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** run, and throw with the command's stderr when it fails */
export function must(cmd: string[], opts: Parameters<typeof run>[1] = {}): string {
  const r = run(cmd, opts);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} -> exit ${r.code}: ${r.err.trim() || r.out.trim()}`);
  return r.out;
}

/** `ip -n NS ...`, throwing on failure */
export function ip(ns: string, ...args: string[]): string {
  return must(["ip", "-n", ns, ...args]);
}

/** feed many iproute2 commands at once (`ip -batch`), one per line without the leading "ip" */
export function ipBatch(ns: string, lines: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "nlmlive-batch-"));
  try {
    const f = join(dir, "cmds");
    writeFileSync(f, lines.join("\n") + "\n");
    must(["ip", "-n", ns, "-batch", f]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same without blocking this process: while a large batch runs, the children whose output
 * this process collects (nlmon's stdout) must still be read, or their pipes fill and they stall.
 */
export async function ipBatchAsync(ns: string, lines: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nlmlive-batch-"));
  try {
    const f = join(dir, "cmds");
    writeFileSync(f, lines.join("\n") + "\n");
    const p = Bun.spawn(["ip", "-n", ns, "-batch", f], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`ip -n ${ns} -batch (${lines.length} commands) -> exit ${code}: ${err.trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** poll until cond(value) holds or the time is up; returns the last value */
export async function until<T>(get: () => T | Promise<T>, cond: (v: T) => boolean, timeoutMs: number, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (cond(v) || Date.now() >= end) return v;
    await sleep(stepMs);
  }
}

/** a file's text, "" while it does not exist */
export const textOf = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8") : "");

// ---------------------------------------------------------------------------------------------
// prerequisites

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const n of readdirSync(path)) m = Math.max(m, newestMtime(join(path, n)));
  return m;
}

/** Build dist/nlmon when it is missing or older than anything in src/, config/ or package.json. */
export function ensureBinary(): void {
  const newest = Math.max(newestMtime(join(ROOT, "src")), newestMtime(join(ROOT, "config")), newestMtime(join(ROOT, "package.json")));
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newest) return;
  const r = run(["make", "build"], { cwd: ROOT });
  if (r.code !== 0 || !existsSync(BIN)) throw new Error(`make build failed (exit ${r.code}): ${(r.err || r.out).trim().split("\n").slice(-5).join("\n")}`);
}

function aptInstall(pkgs: string[]) {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (run(["apt-get", "install", "-y", "-qq", ...pkgs], { env }).code !== 0) {
    run(["apt-get", "update", "-qq"], { env });
    run(["apt-get", "install", "-y", "-qq", ...pkgs], { env });
  }
}

/** The libnl backend needs Debian's libnl-3; install it when missing. */
export function ensureLibnl(): void {
  const pkgs = ["libnl-3-200", "libnl-genl-3-200"];
  if (run(["dpkg", "-s", ...pkgs]).code === 0) return;
  aptInstall(pkgs);
  if (run(["dpkg", "-s", ...pkgs]).code !== 0) throw new Error("apt-get install libnl-3-200 libnl-genl-3-200 failed");
}

/** daemons (rsyslogd) live in sbin, which a non-login PATH may lack */
const TOOL_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin:/bin`;

export function ensureTool(bin: string, pkg: string): void {
  if (Bun.which(bin, { PATH: TOOL_PATH })) return;
  aptInstall([pkg]);
  if (!Bun.which(bin, { PATH: TOOL_PATH })) throw new Error(`${bin} is missing and apt-get install ${pkg} failed`);
}

// ---------------------------------------------------------------------------------------------
// namespaces

let nsCounter = 0;
/** a fresh namespace name, unique to this process */
export function nsName(tag: string): string {
  return `nlmlive-${tag}-${process.pid}-${++nsCounter}`;
}

export function delNs(ns: string): void {
  run(["ip", "netns", "del", ns]);
}

/** Wait until no IPv6 address in the namespace is tentative (DAD of the link-local addresses). */
export async function settleDad(ns: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (ip(ns, "-6", "addr", "show", "tentative").trim() === "") return;
    await sleep(100);
  }
  throw new Error(`${ns}: IPv6 addresses still tentative after ${timeoutMs} ms`);
}

/**
 * A namespace with a veth pair v0/v1 (both up), 10.9.0.1/24 and 2001:db8:9::1/64 (nodad) on v0,
 * and in each of tables 10-12: 172.20.T.0/24 via 10.9.0.2 proto 201, 172.21.T.0/24 via 10.9.9.9
 * onlink proto 186 metric 50, 2001:db8:T::/48 via 2001:db8:9::2 proto 201; a default route in main.
 * Removes the namespace again if any step fails.
 */
export async function makeNs(ns: string): Promise<void> {
  must(["ip", "netns", "add", ns]);
  try {
    ip(ns, "link", "set", "lo", "up");
    ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
    ip(ns, "link", "set", "v0", "up");
    ip(ns, "link", "set", "v1", "up");
    ip(ns, "addr", "add", "10.9.0.1/24", "dev", "v0");
    ip(ns, "-6", "addr", "add", "2001:db8:9::1/64", "dev", "v0", "nodad");
    for (const t of [10, 11, 12]) {
      ip(ns, "route", "add", `172.20.${t}.0/24`, "via", "10.9.0.2", "table", `${t}`, "proto", "201");
      ip(ns, "route", "add", `172.21.${t}.0/24`, "via", "10.9.9.9", "dev", "v0", "onlink", "table", `${t}`, "proto", "186", "metric", "50");
      ip(ns, "-6", "route", "add", `2001:db8:${t}::/48`, "via", "2001:db8:9::2", "table", `${t}`, "proto", "201");
    }
    ip(ns, "route", "add", "default", "via", "10.9.0.2");
    await settleDad(ns);
  } catch (e) {
    delNs(ns);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// line-oriented child processes (nlmon, ip monitor)

/** Collects a child's stdout as lines while it runs. */
export class Lines {
  readonly lines: string[] = [];
  private partial = "";
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) this.push(dec.decode(chunk, { stream: true }));
      this.push(dec.decode());
      if (this.partial) { this.lines.push(this.partial); this.partial = ""; }
    })();
  }

  private push(s: string) {
    if (!s) return;
    const parts = (this.partial + s).split("\n");
    this.partial = parts.pop()!;
    for (const p of parts) this.lines.push(p);
  }

  /** index of the first line at or after `from` that satisfies pred, or -1 */
  find(pred: (line: string) => boolean, from = 0): number {
    for (let i = from; i < this.lines.length; i++) if (pred(this.lines[i]!)) return i;
    return -1;
  }

  async waitLine(pred: (line: string) => boolean, timeoutMs: number, from = 0): Promise<number> {
    const end = Date.now() + timeoutMs;
    let scanned = from;
    for (;;) {
      const n = this.lines.length;
      const i = this.find(pred, scanned);
      if (i >= 0) return i;
      scanned = Math.max(scanned, n);
      if (Date.now() >= end) return -1;
      await sleep(20);
    }
  }
}

export interface Child {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  out: Lines;
  err: Lines;
  /** SIGTERM, then wait for the exit and for all output */
  stop(): Promise<number>;
}

function spawnChild(cmd: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Child {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new Lines(proc.stdout);
  const err = new Lines(proc.stderr);
  let stopped: Promise<number> | undefined;
  return {
    proc, out, err,
    stop() {
      stopped ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
        const killer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
        const code = await proc.exited;
        clearTimeout(killer);
        await Promise.all([out.done, err.done]);
        return code;
      })();
      return stopped;
    },
  };
}

export interface NlmonOptions {
  /** namespace to run in; the host's when absent */
  ns?: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  bin?: string;
  cwd?: string;
}

/** Start nlmon (monitor mode unless args say otherwise), collecting its NDJSON stdout. */
export function startNlmon(o: NlmonOptions = {}): Child {
  const bin = o.bin ?? BIN;
  const cmd = o.ns ? ["ip", "netns", "exec", o.ns, bin, ...(o.args ?? [])] : [bin, ...(o.args ?? [])];
  return spawnChild(cmd, { env: o.env, cwd: o.cwd });
}

/** Start `ip [-t] [-o] monitor OBJECTS` in the namespace. */
export function startIpMonitor(ns: string, objects: string[] = ["all"], flags: string[] = ["-t", "-o"]): Child {
  return spawnChild(["ip", "-n", ns, ...flags, "monitor", ...objects]);
}

/** Run nlmon to completion (no namespace unless given), e.g. for --dump-events or a usage error. */
export function runNlmon(o: NlmonOptions = {}): RunResult {
  const bin = o.bin ?? BIN;
  const cmd = o.ns ? ["ip", "netns", "exec", o.ns, bin, ...(o.args ?? [])] : [bin, ...(o.args ?? [])];
  return run(cmd, { env: o.env, cwd: o.cwd });
}

export function parseEvents(lines: string[]): NlEvent[] {
  const evs: NlEvent[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === "") return;
    try {
      evs.push(JSON.parse(l) as NlEvent);
    } catch {
      throw new Error(`line ${i + 1} of nlmon's output is not JSON: ${l.slice(0, 200)}`);
    }
  });
  return evs;
}

/** Event stream of a running nlmon, parsed lazily as lines arrive. */
export class EventStream {
  private parsed: NlEvent[] = [];
  constructor(readonly child: Child) {}

  get events(): NlEvent[] {
    const lines = this.child.out.lines;
    while (this.parsed.length < lines.length) {
      const l = lines[this.parsed.length]!;
      try {
        this.parsed.push(JSON.parse(l) as NlEvent);
      } catch {
        throw new Error(`nlmon wrote a line that is not JSON: ${l.slice(0, 200)}`);
      }
    }
    return this.parsed;
  }

  /** how many events so far: pass as `from` to look only at what follows */
  cursor(): number {
    return this.events.length;
  }

  /** first event at or after `from` satisfying pred; throws with context on timeout */
  async waitFor(what: string, pred: (e: NlEvent) => boolean, from: number, timeoutMs = 5000): Promise<NlEvent> {
    const end = Date.now() + timeoutMs;
    let i = from;
    for (;;) {
      const evs = this.events;
      for (; i < evs.length; i++) if (pred(evs[i]!)) return evs[i]!;
      if (Date.now() >= end) break;
      if (this.child.proc.exitCode !== null) break;
      await sleep(20);
    }
    const seen = this.events.slice(from).map(summary);
    throw new Error(`no event for ${what} within ${timeoutMs} ms; nlmon ${this.child.proc.exitCode === null ? "running" : "exited " + this.child.proc.exitCode}; ` +
      `${seen.length} events since: ${seen.slice(-30).join(" | ")}; stderr: ${this.child.err.lines.slice(-5).join(" / ")}`);
  }

  /** all events at or after `from` satisfying pred (no waiting) */
  since(from: number, pred: (e: NlEvent) => boolean = () => true): NlEvent[] {
    return this.events.slice(from).filter(pred);
  }
}

/** one short line describing an event, for failure messages */
export function summary(e: NlEvent): string {
  const n = e.netlink;
  const b = n.route ?? n.addr ?? n.link ?? n.neigh ?? n.rule ?? n.nexthop ?? n.netconf;
  const key = n.route ? `${n.route.table} ${n.route.dst}` : n.addr ? `${n.addr.dev} ${n.addr.local ?? n.addr.address}/${n.addr.prefixlen}`
    : n.link ? `${n.link.ifname} ${n.link.flags.join(",")}` : n.neigh ? `${n.neigh.dst} ${n.neigh.state.join(",")}`
    : n.rule ? `${n.rule.priority} ${n.rule.table}` : n.nexthop ? `id ${n.nexthop.id}` : b ? "" : JSON.stringify(n).slice(0, 80);
  return `${n.msg_type_name} ${key}`;
}

// ---------------------------------------------------------------------------------------------
// synchronisation marks: a blackhole route in main, 198.18.X.Y/32 proto 77, that every watcher must report

let markCounter = 0;

export interface Mark { dst: string; /** per watcher: line index of the mark */ at: number[] }

export type MarkMatcher = (line: string, dst: string) => boolean;
/** nlmon's NDJSON line for the mark's RTM_NEWROUTE */
export const nlmonMark: MarkMatcher = (l, dst) => l.includes(`"dst":"${dst}/32"`) && l.includes('"RTM_NEWROUTE"');
/** `ip monitor` line for the mark's route add */
export const ipMonMark: MarkMatcher = (l, dst) => new RegExp(`(^|\\])blackhole ${dst.replaceAll(".", "\\.")} `).test(l);

/**
 * Add mark routes until every watcher has reported one, so that everything done afterwards is
 * seen by all of them (they are subscribed) and can be cut at the mark. Returns the mark seen.
 */
export async function syncMark(ns: string, watchers: { lines: Lines; match: MarkMatcher }[], timeoutMs = 15_000): Promise<Mark> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const k = ++markCounter;
    const dst = `198.18.${(k >> 8) & 255}.${k & 255}`;
    ip(ns, "route", "add", "blackhole", dst, "proto", "77");
    const at: number[] = [];
    for (const w of watchers) {
      const i = await w.lines.waitLine((l) => w.match(l, dst), Math.max(1, Math.min(1500, end - Date.now())));
      if (i < 0) break;
      at.push(i);
    }
    if (at.length === watchers.length) return { dst, at };
  }
  throw new Error(`watchers did not report a mark route within ${timeoutMs} ms`);
}

/** a temp dir removed by the caller */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `nlmlive-${tag}-`));
}

/** A config that is the default except for the given YAML fragments' keys (written to dir). */
export function writeConfig(dir: string, name: string, yaml: string): string {
  const f = join(dir, name);
  writeFileSync(f, yaml);
  return f;
}

export const BACKENDS = [
  { name: "libnl", env: { NLMON_USE_LIBNL: "true" } },
  { name: "legacy", env: { NLMON_USE_LIBNL: "false" } },
] as const;

/**
 * A live test file's set-up: the binary built, libnl and the given tools installed before its
 * tests; its temp dir, the namespaces made with freshNs and the daemons pushed to children
 * removed after them.
 */
export function liveFile(tag: string, tools: [bin: string, pkg: string][] = []) {
  const dir = tempDir(tag);
  const made: string[] = [];
  const children: Child[] = [];
  beforeAll(() => {
    ensureBinary();
    ensureLibnl();
    for (const [bin, pkg] of tools) ensureTool(bin, pkg);
  }, 600_000);
  afterAll(async () => {
    for (const c of children) await c.stop();
    for (const ns of made) delNs(ns);
    rmSync(dir, { recursive: true, force: true });
  });
  /** a namespace with lo up, deleted after the file's tests */
  const freshNs = (nsTag: string): string => {
    const ns = nsName(nsTag);
    made.push(ns);
    must(["ip", "netns", "add", ns]);
    ip(ns, "link", "set", "lo", "up");
    return ns;
  };
  return { dir, children, freshNs };
}

/** until nlmon says which receive buffer it got: its sockets are open */
export async function started(mon: Child): Promise<void> {
  if ((await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)) < 0) throw new Error(`nlmon did not start: ${mon.err.lines.join(" / ")}`);
}
