/**
 * Real collectors for the end-to-end export tests, each started inside a test's network namespace
 * (so 127.0.0.1 is the namespace's own loopback and nothing reaches the host's network):
 * rsyslogd with a private config, a prometheus server, and curl for /metrics. Every process started
 * here is killed by the caller through the handle returned (stop()), also when a test fails.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, sleep } from "./lib.ts";

export { until } from "./lib.ts";

export interface Collector {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  /** SIGKILL and wait; safe to call twice */
  stop(): Promise<void>;
  /** stderr so far (for failure messages); only complete once stopped */
  stderr(): Promise<string>;
}

function spawnInNs(ns: string, cmd: string[]): Collector {
  const proc = Bun.spawn(["ip", "netns", "exec", ns, ...cmd], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let errText: Promise<string> | undefined;
  const readErr = () => (errText ??= new Response(proc.stderr).text().catch(() => ""));
  return {
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
    async stderr() {
      if (proc.exitCode === null && proc.signalCode === null) return "(still running)";
      return readErr();
    },
  };
}

/** whether something in the namespace listens on 127.0.0.1:port (tcp or udp) */
export function listening(ns: string, proto: "tcp" | "udp", port: number): boolean {
  const r = run(["ip", "netns", "exec", ns, "ss", "-Hn", proto === "tcp" ? "-lt" : "-lu", `sport = :${port}`]);
  return r.code === 0 && r.out.trim() !== "";
}

async function waitReady(c: Collector, what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (ready()) return;
    if (c.proc.exitCode !== null) break;
    await sleep(50);
  }
  await c.stop();
  throw new Error(`${what} did not come up within ${timeoutMs} ms: ${(await c.stderr()).trim().slice(0, 2000)}`);
}

// ---------------------------------------------------------------------------------------------
// rsyslogd

export interface Rsyslog extends Collector {
  socket: string;
  udpPort: number;
  tcpPort: number;
  /** every message received so far, as rsyslog parsed it */
  received(): SyslogRecord[];
}

export interface SyslogRecord {
  input: string;
  pri: number;
  facility: string;
  severity: number;
  /** TIMESTAMP as rsyslog parsed it, RFC 3339 */
  time: string;
  host: string;
  app: string;
  procid: string;
  msgid: string;
  msg: string;
}

const SEP = "\u001f";

/**
 * An rsyslogd configuration for tests: imuxsock on a private socket (the system one off), imudp
 * and imtcp on 127.0.0.1, every message written to `out` through a template of `fields`.
 */
export function rsyslogConfig(o: { dir: string; socket: string; udpPort: number; tcpPort: number; out: string; fields: string; parseJson?: boolean }): string {
  // parseJson: rsyslog's own JSON parser reads each message; `%$.json%` is then OK or FAIL and
  // the parsed fields are `%$!name%`
  const json = o.parseJson ? [
    `module(load="mmjsonparse")`,
    `action(type="mmjsonparse" cookie="")`,
    `if $parsesuccess == "OK" then { set $.json = "OK"; } else { set $.json = "FAIL"; }`,
  ] : [];
  return [
    `global(workDirectory="${o.dir}" maxMessageSize="64k")`,
    `module(load="imuxsock" SysSock.Use="off")`,
    `input(type="imuxsock" Socket="${o.socket}" IgnoreTimestamp="off" UseSpecialParser="off" RateLimit.Interval="0")`,
    `module(load="imudp")`,
    `input(type="imudp" address="127.0.0.1" port="${o.udpPort}")`,
    `module(load="imtcp")`,
    `input(type="imtcp" address="127.0.0.1" port="${o.tcpPort}")`,
    ...json,
    `template(name="fields" type="string" string="${o.fields}\\n")`,
    `action(type="omfile" file="${o.out}" template="fields")`,
    "",
  ].join("\n");
}

/**
 * rsyslogd in the namespace: imuxsock on `dir/log.sock` (the system socket off), imudp and imtcp on
 * 127.0.0.1 of the namespace, everything written to `dir/received.log`, one record a line, fields
 * split by the unit separator so a message may hold any printable character.
 */
export async function startRsyslog(ns: string, dir: string, udpPort = 5514, tcpPort = 5515): Promise<Rsyslog> {
  const socket = join(dir, "log.sock");
  const out = join(dir, "received.log");
  const conf = join(dir, "rsyslog.conf");
  const fields = ["%inputname%", "%pri%", "%syslogfacility-text%", "%syslogseverity%", "%timereported:::date-rfc3339%",
    "%hostname%", "%app-name%", "%procid%", "%msgid%", "%msg%"].join(SEP);
  writeFileSync(conf, rsyslogConfig({ dir, socket, udpPort, tcpPort, out, fields }));
  const bin = Bun.which("rsyslogd", { PATH: "/usr/sbin:/sbin:/usr/bin:/bin" });
  if (!bin) throw new Error("rsyslogd not found");
  const c = spawnInNs(ns, [bin, "-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")]);
  await waitReady(c, "rsyslogd", () => existsSync(socket) && listening(ns, "tcp", tcpPort) && listening(ns, "udp", udpPort), 15_000);
  return {
    ...c, socket, udpPort, tcpPort,
    received() {
      if (!existsSync(out)) return [];
      return readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((l) => {
        const f = l.split(SEP);
        return {
          input: f[0]!, pri: Number(f[1]), facility: f[2]!, severity: Number(f[3]), time: f[4]!, host: f[5]!, app: f[6]!,
          procid: f[7]!, msgid: f[8]!,
          // rsyslog keeps the space after the header's last field (RFC 3164 "tag: msg") in %msg%
          msg: f.slice(9).join(SEP).replace(/^ /, ""),
        };
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// prometheus

export interface PromServer extends Collector {
  port: number;
  /** instant query through the HTTP API (curl in the namespace); the first sample, or undefined */
  query(q: string): Promise<{ status: string; values: { metric: Record<string, string>; value: number }[] } | undefined>;
}

/** a prometheus server in the namespace scraping 127.0.0.1:target every second */
export async function startPrometheus(ns: string, dir: string, targetPort: number, port = 9091): Promise<PromServer> {
  const cfg = join(dir, "prometheus.yml");
  writeFileSync(cfg, [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    "  - job_name: nlmon",
    "    static_configs:",
    `      - targets: ["127.0.0.1:${targetPort}"]`,
    "",
  ].join("\n"));
  const c = spawnInNs(ns, ["prometheus", `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, "tsdb")}`,
    `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"]);
  await waitReady(c, "prometheus", () => curlNs(ns, `http://127.0.0.1:${port}/-/ready`).code === 200, 30_000);
  return {
    ...c, port,
    async query(q) {
      const r = curlNs(ns, `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      if (r.code !== 200) return undefined;
      try {
        const j = JSON.parse(r.body) as { status: string; data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
        return { status: j.status, values: (j.data?.result ?? []).map((x) => ({ metric: x.metric, value: Number(x.value[1]) })) };
      } catch {
        return undefined;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP and the exposition format

/** curl run inside the namespace: HTTP status (0 when no connection) and body */
export function curlNs(ns: string, url: string): { code: number; body: string } {
  const r = run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", url]);
  const i = r.out.lastIndexOf("\n");
  const code = Number(r.out.slice(i + 1));
  return { code: Number.isFinite(code) ? code : 0, body: i >= 0 ? r.out.slice(0, i) : "" };
}

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** samples of a text exposition (label values without escapes beyond \" \\ \n) */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v) });
  }
  return out;
}

/** sum of the samples of `name` whose labels include `match` */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

