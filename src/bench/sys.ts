/**
 * What the benchmark needs from the system: namespaces that are always removed, child processes
 * that are always stopped, temp dirs, `ip -batch`, and per-process CPU and memory from /proc.
 */
import { fs, os, path } from "../node-lazy.ts";

// ---------------------------------------------------------------------------------------------
// cleanup: everything made here is registered at once, so a signal or an exception anywhere
// leaves no namespace, process or file behind

const namespaces = new Set<string>();
const children = new Set<Bun.Subprocess>();
const dirs = new Set<string>();

export function cleanupAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill("SIGKILL"); } catch { /* already gone */ }
    }
  }
  children.clear();
  for (const ns of namespaces) Bun.spawnSync(["ip", "netns", "del", ns], { stdout: "ignore", stderr: "ignore" });
  namespaces.clear();
  for (const d of dirs) fs().rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

let handlersInstalled = false;
/** SIGINT/SIGTERM/SIGHUP during a run: remove what was made, then exit as the signal would */
export function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(sig, () => {
      process.stderr.write(`nlmon: benchmark: ${sig}: removing namespaces\n`);
      cleanupAll();
      process.exit(code);
    });
  }
}

export function tempDir(): string {
  const d = fs().mkdtempSync(path().join(os().tmpdir(), "nlmonbench-"));
  dirs.add(d);
  return d;
}

export function removeDir(d: string): void {
  fs().rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

// ---------------------------------------------------------------------------------------------
// commands

export interface Ran { code: number; out: string; err: string }

export function run(cmd: string[], env?: Record<string, string>): Ran {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: env ? { ...process.env, ...env } : process.env });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

export function must(cmd: string[]): string {
  const r = run(cmd);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")}: exit ${r.code}: ${(r.err || r.out).trim().split("\n").slice(-3).join(" / ")}`);
  return r.out;
}

/** Start a child that cleanupAll() kills if the run is cut short. */
export function spawnTracked(cmd: string[], o: { env?: Record<string, string>; stdout?: "ignore" | "pipe" | ReturnType<typeof Bun.file> } = {}) {
  const p = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: o.stdout ?? "ignore",
    stderr: "pipe",
    env: o.env ? { ...process.env, ...o.env } : process.env,
  });
  children.add(p);
  const err = new Response(p.stderr).text();
  void p.exited.then(() => children.delete(p));
  return { proc: p, stderr: err };
}

/**
 * This program, as a command line. A compiled binary is process.execPath itself; in development
 * execPath is bun, which needs the entry point (absolute, so the child's cwd does not matter).
 */
export function selfCommand(): string[] {
  if (import.meta.url.includes("$bunfs")) return [process.execPath];
  return [process.execPath, new URL("../cli/main.ts", import.meta.url).pathname];
}

// ---------------------------------------------------------------------------------------------
// namespaces

export function addNamespace(ns: string): void {
  // a leftover from a run that was killed with SIGKILL would make `add` fail
  run(["ip", "netns", "del", ns]);
  must(["ip", "netns", "add", ns]);
  namespaces.add(ns);
}

export function delNamespace(ns: string): boolean {
  run(["ip", "netns", "del", ns]);
  namespaces.delete(ns);
  return !namespaceExists(ns);
}

export function namespaceExists(ns: string): boolean {
  return run(["ip", "netns", "list"]).out.split("\n").some((l) => l.split(" ")[0] === ns);
}

export function ip(ns: string, ...args: string[]): string {
  return must(["ip", "-n", ns, ...args]);
}

/** a veth pair v0/v1, both up, 10.9.0.1/24 and 2001:db8:9::1/64 (nodad, so routes via it work at once) on v0 */
/** lo up, a veth pair v0/v1 up, 10.9.0.1/24 on v0: what ../shared/checks/06 dumps, and no more */
export function vethTopology(ns: string): void {
  ip(ns, "link", "set", "lo", "up");
  ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
  ip(ns, "link", "set", "v0", "up");
  ip(ns, "link", "set", "v1", "up");
  ip(ns, "addr", "add", "10.9.0.1/24", "dev", "v0");
}

export function basicTopology(ns: string): void {
  vethTopology(ns);
  ip(ns, "addr", "add", "10.9.1.1/24", "dev", "v1");
  ip(ns, "-6", "addr", "add", "2001:db8:9::1/64", "dev", "v0", "nodad");
}

export function writeBatch(dir: string, name: string, lines: string[]): string {
  const f = path().join(dir, name);
  fs().writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

/** `ip -batch` that must succeed entirely (setting up state) */
export function ipBatch(ns: string, file: string): void {
  must(["ip", "-n", ns, "-batch", file]);
}

export interface BatchResult {
  lines: number;
  failed: number;
  seconds: number;
  /** the 1-based line numbers ip named as failed ("Command failed FILE:LINE") */
  failedLines: number[];
}

/**
 * One burst at the full rate ip can go. -force keeps going after a failed line, and ip names each
 * failed line on stderr, which is how the kernel's own count (lines that succeeded) is known.
 */
export async function ipBatchForce(ns: string, file: string, lines: number): Promise<BatchResult> {
  const t0 = performance.now();
  const { proc, stderr } = spawnTracked(["ip", "-n", ns, "-force", "-batch", file]);
  await proc.exited;
  const err = await stderr;
  const failedLines: number[] = [];
  for (const l of err.split("\n")) {
    if (!l.startsWith("Command failed")) continue;
    const m = /:(\d+)\s*$/.exec(l);
    failedLines.push(m ? Number(m[1]) : 0);
  }
  return { lines, failed: failedLines.length, seconds: (performance.now() - t0) / 1000, failedLines };
}

// ---------------------------------------------------------------------------------------------
// /proc

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const r = run(["getconf", "CLK_TCK"]);
    const n = Number(r.out.trim());
    clkTck = r.code === 0 && n > 0 ? n : 100;
  }
  return clkTck;
}

/** user + system CPU seconds of a process (its threads included) */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const s = fs().readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields are counted after the last ')'
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5); f[0] is field 3
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** a VmXXX line of /proc/PID/status, in MiB */
export function vmMiB(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon"): number | undefined {
  try {
    const s = fs().readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// reading a growing file line by line, from where the last read stopped

export class LineTail {
  private fd: number | undefined;
  private pos = 0;
  private carry = "";
  private readonly dec = new TextDecoder();
  private readonly buf = new Uint8Array(4 * 1024 * 1024);

  constructor(readonly path: string, private readonly onLine: (line: string) => void) {}

  /** read whatever was appended since the last call */
  poll(): void {
    if (this.fd === undefined) {
      try { this.fd = fs().openSync(this.path, "r"); } catch { return; }
    }
    for (;;) {
      const n = fs().readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      if (n <= 0) return;
      this.pos += n;
      const text = this.carry + this.dec.decode(this.buf.subarray(0, n), { stream: true });
      const parts = text.split("\n");
      this.carry = parts.pop()!;
      for (const p of parts) this.onLine(p);
    }
  }

  close(): void {
    this.poll();
    if (this.carry) this.onLine(this.carry);
    this.carry = "";
    if (this.fd !== undefined) fs().closeSync(this.fd);
    this.fd = undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
