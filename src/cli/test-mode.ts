/**
 * --test-mode, as `nginx -t`: the config is valid (main.ts has loaded it by now), and everything it
 * asks for can be had here, now: the backend and its library, each protocol's socket and every
 * multicast group, each generic netlink family, the receive buffer, each export's target, the
 * control socket, the programs hooks and alerts run. Each check is a row of a table with OK, WARN
 * or FAIL and, for anything but OK, what to do about it. Nothing is monitored: what arrives on the
 * sockets meanwhile is thrown away.
 */
import { BackendUnavailable } from "../backend/select.ts";
import type { Backend, BackendOptions } from "../backend/types.ts";
import type { WorkerBackend } from "../backend/host.ts";
import { configNotes } from "../config/lift.ts";
import { exportDirProblem } from "../config/paths.ts";
import type { NlmonConfig } from "../config/types.ts";
import { protocolName } from "../decode/message.ts";
import type { GenlFamily } from "../families/genl/index.ts";
import { familyOf, STATE_FAMILY } from "../families/index.ts";
import { dns, fs, path as pathMod } from "../node-lazy.ts";
import { rtnlGroups } from "../monitor/groups.ts";
import { resolveAvailable, sameFamily } from "../monitor/genl.ts";
import { CAPABILITY_HINT, netfilterGroups, sockDiagGroups } from "../monitor/session.ts";
import { NETLINK_GENERIC, NETLINK_NETFILTER, NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";
import { controlSocketPath } from "../control/socket-path.ts";
import { checkAutomation } from "../automation/index.ts";

export type Verdict = "OK" | "WARN" | "FAIL";
export interface Check { check: string; result: Verdict; detail: string }
type Add = (check: string, result: Verdict, detail: string) => void;

export interface TestModeOptions {
  cfg: NlmonConfig;
  /** the config file, or "" for the embedded default */
  configPath: string;
  /** the backend the config selects (main.ts's choice, so a test runs what a start would run); `warn` hears a fallback */
  backend: (warn: (m: string) => void) => WorkerBackend;
  out: (s: string) => Promise<unknown>;
}

const CAP_NET_ADMIN = 12;
/** what a refused socket option or group join looks like, on both backends */
const PERMISSION = /EPERM|EACCES|not permitted|permission denied/i;

const RMEM_HINT = (want: number) =>
  `grant CAP_NET_ADMIN (SO_RCVBUFFORCE: \`setcap cap_net_admin+ep /path/to/nlmon\` or AmbientCapabilities=CAP_NET_ADMIN in the systemd unit), ` +
  `or raise the limit: \`sysctl -w net.core.rmem_max=${want}\``;

export async function runTestMode(o: TestModeOptions): Promise<number> {
  const checks: Check[] = [];
  const add = (check: string, result: Verdict, detail: string) => checks.push({ check, result, detail });
  const { cfg } = o;
  add("config", "OK", `${o.configPath || "embedded default"}: valid`);
  for (const n of configNotes(cfg)) if (n.level === "warn") add("config", "WARN", n.text);
  for (const n of rtnlGroups(cfg).notes) if (n.level === "warn") add("config", "WARN", n.text);
  if (cfg.netlink.namespace) checkNamespace(cfg.netlink.namespace, add);

  const backend = chooseBackend(o, add);
  if (backend) {
    try {
      await checkSockets(cfg, backend, add, checks);
    } finally {
      await backend.stop().catch(() => {});
    }
  }
  await checkExports(cfg, add);
  await checkControl(cfg, add);
  checkHooksAndAlerts(cfg, add);

  await o.out(table(checks));
  const fails = checks.filter((c) => c.result === "FAIL").length;
  const warns = checks.filter((c) => c.result === "WARN").length;
  await o.out(`\n${checks.length} checks: ${checks.length - fails - warns} OK, ${warns} WARN, ${fails} FAIL: ` +
    (fails ? "nlmon cannot run as configured\n" : warns ? "nlmon can run; see the warnings\n" : "nlmon can run as configured\n"));
  return fails ? 1 : 0;
}

function checkNamespace(ns: string, add: Add) {
  const p = ns.includes("/") ? ns : `/run/netns/${ns}`;
  if (fs().existsSync(p)) add("namespace", "OK", `${ns}: sockets are opened in ${p}`);
  else add("namespace", "FAIL", `${ns}: no such network namespace (${p} does not exist; \`ip netns list\` shows those there are)`);
}

function chooseBackend(o: TestModeOptions, add: Add): WorkerBackend | undefined {
  const n = o.cfg.netlink;
  const warnings: string[] = [];
  let b: WorkerBackend;
  try {
    b = o.backend((m) => warnings.push(m));
  } catch (e) {
    if (!(e instanceof BackendUnavailable)) throw e;
    add("backend", "FAIL", `libnl: ${(e as Error).message.split("\n")[0]}`);
    return undefined;
  }
  if (b.name === "libnl") add("backend", "OK", `libnl (${n.libnl.library || "found on the library path"})`);
  else if (n.use_libnl) add("backend", "WARN", `legacy, not libnl: ${warnings[0] ?? "libnl did not load and netlink.libnl.fallback is legacy"}`);
  else add("backend", "OK", "legacy (raw AF_NETLINK sockets)");
  return b;
}

async function checkSockets(cfg: NlmonConfig, backend: WorkerBackend, add: Add, rows: Check[]) {
  const n = cfg.netlink;
  const drop = () => {};
  try {
    await backend.start([], drop);
  } catch (e) {
    add("backend", "FAIL", `the receive thread did not start: ${(e as Error).message}`);
    return;
  }
  // the library the receive thread loaded is known once it runs
  if (backend.name === "libnl" && backend.library) {
    const row = rows.find((c) => c.check === "backend");
    if (row) row.detail = `libnl (${backend.library})`;
  }
  const opts = (protocol: number): BackendOptions => ({
    protocol, groups: [], rcvbuf: n.buffer_size.receive, sndbuf: n.buffer_size.send, maxMessageSize: n.limits.max_message_size,
  });
  const names = (protocol: number) => Object.fromEntries(Object.entries(familyOf(protocol)?.groups ?? {}).map(([k, v]) => [v, k]));
  const opened: number[] = [];

  /**
   * Open the protocol's socket with its groups, as a start does; when that is refused, open it bare
   * and join the groups one at a time, so the refusal names its groups. (Not one at a time
   * always: the receive thread takes a command between polls, so each join can cost a poll.)
   */
  const openAndJoin = async (protocol: number, groups: number[], label: (g: number) => string): Promise<{ ok: string[]; failed: string[]; why: string[] } | undefined> => {
    const name = protocolName(protocol);
    try {
      await backend.start([{ ...opts(protocol), groups }], drop);
      opened.push(protocol);
      return { ok: groups.map(label), failed: [], why: [] };
    } catch {
      // said below, group by group
    }
    try {
      await backend.start([opts(protocol)], drop);
      opened.push(protocol);
    } catch (e) {
      const why = (e as Error).message;
      add(name, "FAIL", `cannot open the socket: ${why}${PERMISSION.test(why) ? `: ${CAPABILITY_HINT}` : ""}`);
      return undefined;
    }
    const r = { ok: [] as string[], failed: [] as string[], why: [] as string[] };
    for (const g of groups) {
      try {
        await backend.join(protocol, [g]);
        r.ok.push(label(g));
      } catch (e) {
        r.failed.push(label(g));
        r.why.push((e as Error).message);
      }
    }
    return r;
  };
  const report = (protocol: number, r: { ok: string[]; failed: string[]; why: string[] }, capHint: string) => {
    const name = protocolName(protocol);
    if (!r.failed.length) {
      add(name, "OK", `socket open; ${r.ok.length} group${r.ok.length === 1 ? "" : "s"} joined${r.ok.length ? `: ${r.ok.join(" ")}` : ""}`);
      return;
    }
    const why = reasons(r.why);
    add(name, "FAIL", `cannot join ${r.failed.join(" ")} (${why})${PERMISSION.test(why) ? `: ${capHint}` : ""}` +
      (r.ok.length ? `; joined: ${r.ok.join(" ")}` : ""));
  };

  if (n.protocols.route) {
    const plan = rtnlGroups(cfg);
    const byNum = names(STATE_FAMILY.protocol);
    const r = await openAndJoin(STATE_FAMILY.protocol, plan.groups, (g) => byNum[g] ?? String(g));
    if (r) report(STATE_FAMILY.protocol, r, "the kernel refused a group nlmon joins unprivileged elsewhere; run nlmon as root or with CAP_NET_ADMIN");
  }
  if (n.protocols.generic) await checkGeneric(cfg, backend, add, openAndJoin);
  if (n.protocols.netfilter) {
    const byNum = names(NETLINK_NETFILTER);
    const groups = netfilterGroups(cfg);
    const r = await openAndJoin(NETLINK_NETFILTER, groups, (g) => byNum[g] ?? String(g));
    if (r) report(NETLINK_NETFILTER, r, CAPABILITY_HINT);
  }
  if (n.protocols.sock_diag) {
    const byNum = names(NETLINK_SOCK_DIAG);
    const groups = sockDiagGroups(cfg);
    if (groups.length) {
      const r = await openAndJoin(NETLINK_SOCK_DIAG, groups, (g) => byNum[g] ?? String(g));
      if (r) report(NETLINK_SOCK_DIAG, r, CAPABILITY_HINT);
    }
    await checkSockDiagDump(cfg, backend, add);
  }
  checkBuffers(cfg, backend, opened, add);
}

async function checkGeneric(cfg: NlmonConfig, backend: Backend, add: Add,
  openAndJoin: (p: number, g: number[], l: (g: number) => string) => Promise<{ ok: string[]; failed: string[]; why: string[] } | undefined>) {
  const wanted = ["nlctrl", ...cfg.netlink.generic_families.filter((f) => f !== "nlctrl")];
  let found: GenlFamily[];
  try {
    const r = await resolveAvailable(backend, wanted, backend.name === "libnl" ? { library: cfg.netlink.libnl.library || undefined } : undefined);
    found = r.found;
    for (const w of r.warnings) {
      const name = r.missing.find((m) => w.includes(`'${m}'`)) ?? "?";
      // a family nlmon would join when it appears is still a failed check: the config asks for it now
      add(`generic family ${name}`, "FAIL", w.replace(/ nlmon keeps running and joins the family's groups when it appears\.$/, " (a running nlmon would join it once it appears)"));
    }
    for (const note of r.notes) add("generic families", "WARN", note);
  } catch (e) {
    add(protocolName(NETLINK_GENERIC), "FAIL", `resolving families: ${(e as Error).message}`);
    return;
  }
  const label = new Map<number, string>();
  const groups: number[] = [];
  const picks = new Map<GenlFamily, string[]>();
  for (const f of found) {
    const want = Object.entries(cfg.netlink.generic_groups ?? {}).find(([name]) => sameFamily(name, f.name))?.[1];
    const names = want ? want.filter((g) => f.groups[g] !== undefined) : Object.keys(f.groups);
    for (const g of want ?? []) {
      if (f.groups[g] === undefined) add(`generic family ${f.name}`, "WARN", `has no multicast group '${g}' (it has: ${Object.keys(f.groups).sort().join(", ") || "none"})`);
    }
    picks.set(f, names);
    for (const g of names) {
      label.set(f.groups[g]!, `${f.name}/${g}`);
      groups.push(f.groups[g]!);
    }
  }
  const r = await openAndJoin(NETLINK_GENERIC, [...new Set(groups)], (g) => label.get(g) ?? String(g));
  if (!r) return;
  for (const f of found) {
    const mine = picks.get(f)!.map((g) => `${f.name}/${g}`);
    const failed = mine.filter((g) => r.failed.includes(g));
    if (failed.length) {
      const why = reasons(r.why);
      add(`generic family ${f.name}`, "FAIL", `id ${f.id}; cannot join ${failed.join(" ")} (${why})${PERMISSION.test(why) ? ": this family's groups need privilege: run nlmon as root or with CAP_NET_ADMIN" : ""}`);
    } else {
      add(`generic family ${f.name}`, "OK", `id ${f.id}; ${mine.length ? `joined ${mine.map((g) => g.slice(f.name.length + 1)).join(" ")}` : "no multicast group"}`);
    }
  }
}

async function checkSockDiagDump(cfg: NlmonConfig, backend: Backend, add: Add) {
  const { sockDiagPlan } = await import("../monitor/socket-plan.ts");
  const plan = sockDiagPlan(cfg.netlink.sock_diag);
  try {
    for (const r of plan.requests) await backend.dump(NETLINK_SOCK_DIAG, [r.request]);
    add("sock_diag dumps", "OK", `${plan.describe}, every ${cfg.netlink.sock_diag.interval} s: the kernel answers`);
  } catch (e) {
    const why = (e as Error).message;
    add("sock_diag dumps", "FAIL", `${plan.describe}: ${why}${/ENOENT|not supported|EOPNOTSUPP/i.test(why) ? " (load the kernel's inet_diag, tcp_diag, udp_diag modules: `modprobe inet_diag tcp_diag udp_diag`)" : ""}`);
  }
}

/** one refusal per group says the same thing with the group's number in it: said once */
function reasons(why: string[]): string {
  return [...new Set(why.map((w) => w.replace(/\(\d+\)/g, "")))].join("; ");
}

function hasCap(cap: number): boolean {
  try {
    const line = fs().readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("CapEff:"));
    return line !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> BigInt(cap)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function rmemMax(): number | undefined {
  try {
    return Number(fs().readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim());
  } catch {
    return undefined;
  }
}

function checkBuffers(cfg: NlmonConfig, backend: Backend, opened: number[], add: Add) {
  const want = cfg.netlink.buffer_size.receive;
  for (const s of backend.sockets) {
    if (!opened.includes(s.protocol)) continue;
    const got = s.rcvbuf / 2;
    const name = `${protocolName(s.protocol)} receive buffer`;
    if (got >= want) {
      add(name, "OK", `${got} bytes${s.forced ? " (SO_RCVBUFFORCE)" : ""}`);
      continue;
    }
    const max = rmemMax();
    const why = hasCap(CAP_NET_ADMIN)
      ? `the kernel granted less than asked`
      : `nlmon lacks CAP_NET_ADMIN, so SO_RCVBUF is capped by net.core.rmem_max${max !== undefined ? ` (${max})` : ""}`;
    add(name, "WARN", `${got} bytes, not the ${want} configured: ${why}; bursts may overrun it: ${RMEM_HINT(want)}`);
  }
}

/**
 * Writable as the export will write it: an existing file opened for appending (nothing written),
 * a missing one created and removed again. Asking access() would pass anything as root, /proc too.
 */
async function checkFile(label: string, file: string, add: Add) {
  if (file === "-") {
    add(label, "OK", "standard output");
    return;
  }
  const f = fs();
  let exists = true;
  try {
    if (f.statSync(file).isDirectory()) {
      add(label, "FAIL", `${file} is a directory`);
      return;
    }
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") {
      add(label, "FAIL", `${file}: ${errCode(e)}`);
      return;
    }
    exists = false;
  }
  if (exists) {
    try {
      f.closeSync(f.openSync(file, "a"));
      add(label, "OK", `${file}: writable`);
    } catch (e) {
      add(label, "FAIL", `${file}: not writable: ${errCode(e)}`);
    }
    return;
  }
  const problem = exportDirProblem(file);
  if (problem) {
    add(label, "FAIL", problem);
    return;
  }
  const dir = pathMod().dirname(file);
  if (!f.existsSync(dir)) {
    add(label, "OK", `${file}: ${dir} will be made`);
    return;
  }
  try {
    f.closeSync(f.openSync(file, "wx"));
    f.unlinkSync(file);
    add(label, "OK", `${file}: can be created`);
  } catch (e) {
    add(label, "FAIL", `${file} cannot be created: ${errCode(e)}`);
  }
}

function errCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  return typeof code === "string" && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

async function checkExports(cfg: NlmonConfig, add: Add) {
  const e = cfg.export;
  if (e.json.enabled) await checkFile("export json", e.json.file, add);
  if (e.pcap.enabled) await checkFile("export pcap", e.pcap.file, add);
  if (e.syslog.enabled) await checkSyslog(cfg, add);
  if (e.prometheus.enabled) {
    const p = e.prometheus;
    const where = `${p.address || "0.0.0.0"}:${p.port}`;
    try {
      const srv = Bun.listen({ hostname: p.address || "0.0.0.0", port: p.port, socket: { data() {} } });
      srv.stop(true);
      add("export prometheus", "OK", `${where}: free`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === "EADDRINUSE" ? `in use (\`ss -ltnp 'sport = :${p.port}'\` shows by what); choose another export.prometheus.port`
        : code === "EACCES" ? `ports below 1024 need CAP_NET_BIND_SERVICE; choose a port above 1023`
        : code === "EADDRNOTAVAIL" ? "export.prometheus.address is not an address of this host"
        : errCode(err);
      add("export prometheus", "FAIL", `${where}: ${why}`);
    }
  }
  if (!e.json.enabled && !e.pcap.enabled && !e.syslog.enabled && !e.prometheus.enabled) {
    add("exports", "WARN", "no export is enabled: events go nowhere");
  }
}

async function checkSyslog(cfg: NlmonConfig, add: Add) {
  const s = cfg.export.syslog;
  if (s.transport === "unix") {
    const p = s.path || "/dev/log";
    try {
      const { UnixDgramSocket } = await import("../ffi/unix-dgram.ts");
      UnixDgramSocket.connect(p).close();
      add("export syslog", "OK", `unix ${p}: a syslog daemon is listening`);
    } catch (err) {
      add("export syslog", "FAIL", `unix ${p}: ${errCode(err)} (is a syslog daemon running? rsyslog or systemd-journald provide /dev/log)`);
    }
    return;
  }
  const host = s.host || "127.0.0.1";
  let addr: string;
  try {
    addr = (await dns().lookup(host)).address;
  } catch (err) {
    add("export syslog", "FAIL", `${s.transport} ${host}: the name does not resolve (${errCode(err)})`);
    return;
  }
  const at = `${s.transport} ${host}:${s.port}${addr !== host ? ` (${addr})` : ""}`;
  if (s.transport === "udp") {
    add("export syslog", "OK", `${at}: resolves (UDP cannot tell whether a collector listens)`);
    return;
  }
  const r = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve("no answer within 3 s"), 3000);
    Bun.connect({ hostname: addr, port: s.port, socket: { data() {}, open(sock) { sock.end(); } } }).then(
      () => { clearTimeout(timer); resolve(undefined); },
      (err) => { clearTimeout(timer); resolve(errCode(err)); });
  });
  if (r === undefined) add("export syslog", "OK", `${at}: a collector accepts connections`);
  // a collector that is down only costs a counted error and retries at run time, so it is a warning
  else add("export syslog", "WARN", `${at}: ${r}; nlmon would queue and retry until it answers`);
}

async function checkControl(cfg: NlmonConfig, add: Add) {
  if (!cfg.control.enabled) return;
  const p = controlSocketPath(cfg.control.socket);
  const f = fs();
  let st;
  try {
    st = f.lstatSync(p);
  } catch {
    const dir = pathMod().dirname(p);
    const ok = f.existsSync(dir) || f.existsSync(pathMod().dirname(dir));
    add("control socket", ok ? "OK" : "FAIL", ok ? `${p}: free` : `${p}: directory ${dir} does not exist and cannot be made`);
    return;
  }
  if (!st.isSocket()) {
    add("control socket", "FAIL", `${p}: something that is not a socket is there; nlmon would run without a control socket`);
    return;
  }
  const live = await Bun.connect({ unix: p, socket: { data() {} } }).then((s) => (s.end(), true), () => false);
  if (live) add("control socket", "WARN", `${p}: a running nlmon answers there; a second one would run without a control socket (set control.socket to give it its own)`);
  else add("control socket", "OK", `${p}: a dead daemon's socket, replaced at start`);
}

/** hooks and alerts as the daemon would compile them: conditions, commands found, webhook URLs */
function checkHooksAndAlerts(cfg: NlmonConfig, add: Add) {
  const hooks = cfg.hooks ?? [];
  const alerts = cfg.alerts ?? [];
  if (!hooks.length && !alerts.length) return;
  const problems = checkAutomation(cfg);
  for (const p of problems) add(p.startsWith("alerts") ? "alerts" : "hooks", "FAIL", p);
  if (!problems.length) add("hooks and alerts", "OK", `${hooks.length} hook${hooks.length === 1 ? "" : "s"}, ${alerts.length} alert rule${alerts.length === 1 ? "" : "s"}: conditions parse, commands found`);
}

/** the rows as aligned columns; a detail wraps under its own column rather than under the check */
export function table(checks: Check[]): string {
  const w = Math.max(5, ...checks.map((c) => c.check.length));
  const out = [`${"CHECK".padEnd(w)}  RESULT  DETAIL`];
  for (const c of checks) out.push(`${c.check.padEnd(w)}  ${c.result.padEnd(6)}  ${c.detail}`);
  return out.join("\n") + "\n";
}
