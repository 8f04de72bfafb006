/**
 * The conntrack row of `--benchmark`: conntrack events at rising rates in a namespace of its own,
 * nlmon (the configured backend, NETLINK_NETFILTER only) and `conntrack -E -o id` listening at
 * once with the same receive buffer, each listener's output counted against what the kernel
 * did, and the CPU each spent.
 *
 * The events are the kernel's own (nlmsg_pid 0), as a monitor meets them on a router: every flow
 * is a UDP request from 10.9.0.1 to an address of its own in 10.96.0.0/12 (a local route on lo)
 * and the reply from that address: conntrack makes the entry when the request leaves (NEW) and
 * marks it seen-reply when the reply leaves (UPDATE), two events per flow, paced by the traffic.
 * Nothing expires during the row (the namespace's UDP timeouts are 120 s): a destroy the row could
 * cause would come either from the kernel's garbage collector, in sweeps it times itself, or
 * from a flush or delete through ctnetlink, which reports the event with the requester's port id,
 * and for each such event `conntrack -E` reads /proc/net/netlink to name the program (a cost it
 * never pays for traffic, which would make it look slower than it is). The entries go with the
 * namespace, once the listeners have stopped.
 *
 * What happened is the kernel's count, not the generator's or a listener's: the nftables rule that
 * enables conntrack in the namespace counts, in the output hook, the packets that were
 * `ct state new` (one per flow: its request) and those in the reply direction (one per flow: its
 * reply). Every flow has its own destination address, so an event names its flow: a listener's
 * lines are checked off in a bitmap per event type; lost = expected - distinct, duplicated =
 * lines - distinct, never netted. The kernel's drop counter of each listener's socket
 * (/proc/net/netlink) is reported beside it.
 */
import { fs, path } from "../node-lazy.ts";
import type { NlmonConfig } from "../config/types.ts";
import { type BackendName, type Listener, startNlmon } from "./live.ts";
import { addNamespace, cpuSeconds, delNamespace, ip, must, run, sleep, spawnTracked } from "./sys.ts";

/** flows per second of each step (two events each: NEW, UPDATE); 0 = as fast as the generator goes */
export const CT_STEP_RATES = [4_000, 1_000, 2_000, 4_000, 6_000, 8_000, 12_000, 16_000, 0];
/**
 * Steps at the start that warm both listeners up (nlmon's JIT compiles its decoders on the first
 * thousands of events: measured, 0.24 s of CPU in JIT threads over the first 20,000): their events
 * are counted for loss and duplicates like any step's, their CPU is not compared.
 */
export const CT_WARMUP_STEPS = 1;
/** seconds of flows per paced step */
export const CT_STEP_S = 1.5;
/** flows of the full-speed step */
export const CT_FULL_FLOWS = 60_000;
/** the namespace's nf_conntrack_udp_timeout(_stream): longer than the row, so nothing is destroyed during it */
const UDP_TIMEOUT_S = 120;
/** no step starts once the row has run this long (a paced step takes about CT_STEP_S + 0.5 s) */
const BUDGET_S = 22;
/** the server's port in step s: PORT_BASE + s, so an event names its step */
const PORT_BASE = 10_000;
/** the flows' destinations: 10.96.0.0/12, flow i is 10.96.0.0 + i */
const FLOW_BASE = ((10 << 24) | (96 << 16)) >>> 0;
const FLOW_SPACE = 1 << 20;
const MARK_SRC = "10.95.0.1";
const MARK_DST = "10.95.0.2";
const NFT_TABLE = "nlmonbench";

// ---------------------------------------------------------------------------------------------
// the generator: python3 (the flows must be real packets), client and server in one process; it
// prints one JSON line

const GENERATOR = `
import json, socket, struct, sys, time
first, n, rate, port = (int(a) for a in sys.argv[1:5])
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# the replies are not read: once this small queue is full the kernel drops them, after conntrack saw them
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c.bind(("10.9.0.1", 0))
sv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
sv.bind(("0.0.0.0", port))
sv.setblocking(False)
IP_PKTINFO = 8
base = (10 << 24) | (96 << 16)
send = c.sendto; recv = sv.recvfrom; reply = sv.sendmsg; pack = struct.pack
sent = fail = replied = 0
def serve():
    # each request carries its address: the reply leaves from it (IP_PKTINFO), so it is the flow's reply
    global replied
    while True:
        try:
            d, peer = recv(64)
        except BlockingIOError:
            return
        try:
            reply([b"y"], [(socket.IPPROTO_IP, IP_PKTINFO, pack("=i4s4s", 0, d[:4], bytes(4)))], 0, peer)
            replied += 1
        except OSError:
            pass
t0 = time.perf_counter()
i = 0
while i < n:
    due = n if rate <= 0 else min(n, int((time.perf_counter() - t0) * rate) + 1)
    k = 0
    while i < due and k < 64:
        a = pack(">I", base + first + i)
        try:
            send(a, (socket.inet_ntoa(a), port))
            sent += 1
        except OSError:
            fail += 1
        i += 1
        k += 1
    serve()
    if rate > 0 and i < n:
        time.sleep(max(0.0, min(0.002, (i + 1) / rate - (time.perf_counter() - t0))))
t1 = time.perf_counter()
time.sleep(0.01)
serve()
print(json.dumps({"sent": sent, "send_errors": fail, "replied": replied, "send_s": t1 - t0, "span_s": time.perf_counter() - t0}))
`;

interface GeneratorOut { sent: number; send_errors: number; replied: number; send_s: number; span_s: number }

async function generate(ns: string, first: number, n: number, rate: number, port: number): Promise<GeneratorOut> {
  const p = spawnTracked(["ip", "netns", "exec", ns, "python3", "-c", GENERATOR, String(first), String(n), String(rate), String(port)],
    { stdout: "pipe" });
  const out = await new Response(p.proc.stdout as ReadableStream<Uint8Array>).text();
  const code = await p.proc.exited;
  const err = await p.stderr;
  if (code !== 0) throw new Error(`conntrack generator: exit ${code}: ${err.trim().split("\n").slice(-3).join(" / ")}`);
  return JSON.parse(out.trim().split("\n").pop()!) as GeneratorOut;
}

// ---------------------------------------------------------------------------------------------
// results

export interface ConntrackStepListener {
  name: string;
  /** lines for this step's flows */
  received: number;
  /** distinct (event, flow) among them */
  distinct: number;
  lost: number;
  duplicated: number;
  /** utime+stime over the step (from the previous step's end mark to this one's) */
  cpu_s?: number;
}

export interface ConntrackStep {
  step: number;
  /** flows/s asked of the generator; null: as fast as it goes */
  target_flows_per_s: number | null;
  flows: number;
  /** requests sent, and replies the generator's server sent back */
  sent: number;
  send_errors: number;
  replied: number;
  /** first to last request */
  send_s: number;
  /** first request to the last reply */
  span_s: number;
  flows_per_s: number;
  /** expected events / span_s */
  events_per_s: number;
  /** the kernel's counts (the nftables rule's counters in the namespace's output hook): packets `ct state new` (entries made: NEW events) */
  kernel_new: number;
  /** packets in the reply direction (each flow's one reply: the UPDATE that marks it seen-reply) */
  kernel_replies: number;
  /** conntrack -C after the step less before: the entries it added (= kernel_new when none was refused or destroyed) */
  kernel_entries: number;
  expected_new: number;
  expected_update: number;
  expected: number;
  listeners: ConntrackStepListener[];
  /** both listeners reported the end mark */
  drained: boolean;
}

export interface ConntrackListener {
  name: string;
  command: string;
  expected: number;
  received: number;
  distinct: number;
  lost: number;
  duplicated: number;
  /** events for a flow of ours that its step did not make, or of another type (a destroy): should never happen */
  unexpected: number;
  /** distinct events beyond the kernel's count (should never happen) */
  extra: number;
  /** nlmon: lines a resync made (re-dump after an overrun), not received; not counted */
  repaired?: number;
  /** nlmon: ENOBUFS its receive loop saw; conntrack -E: its "We have hit ENOBUFS" warnings */
  overruns: number;
  /** the kernel's drop counter of the listener's socket (sk_drops, /proc/net/netlink) before it stopped */
  kernel_drops?: number;
  /** SO_RCVBUF as the kernel holds it (sk_rcvbuf, `ss -m`) */
  receive_buffer_bytes?: number;
  /** utime+stime from the start mark to the last step's end mark (/proc/PID/stat) */
  cpu_s?: number;
  /** cpu_s / received */
  cpu_us_per_event?: number;
  /** the highest events/s of a step in which it lost and duplicated nothing */
  kept_up_events_per_s?: number;
  /** its own count: nlmon's events metric, conntrack's "N flow events have been shown" (marks included) */
  own_count?: number;
  exit_code: number;
  warnings: string[];
}

export interface ConntrackResult {
  /** why the row did not run (a tool or the kernel's conntrack missing) */
  skipped?: string;
  backend: BackendName;
  namespace?: string;
  namespace_removed?: boolean;
  method: string;
  /** what both were asked for (conntrack -b, nlmon's netlink.buffer_size.receive): the config's receive buffer */
  receive_buffer_requested?: number;
  rmem_default?: number;
  step_s: number;
  steps: ConntrackStep[];
  listeners: ConntrackListener[];
  expected: number;
  kernel: { new_flows: number; replies: number; entries: number; insert_failed: number; drop: number; early_drop: number };
  /** the first step (1-based) in which conntrack -E lost events; undefined if it lost none */
  conntrack_first_loss_step?: number;
  /** nlmon's lost and duplicated up to and including that step (all steps if conntrack -E lost none) */
  nlmon_lost_through?: number;
  nlmon_duplicated_through?: number;
  /**
   * CPU per event received, compared over the steps in which neither listener lost or duplicated
   * anything (both handled the very same events); over all steps if there is none
   */
  cpu_compared?: { steps: number[]; all_steps: boolean; nlmon_us_per_event?: number; conntrack_us_per_event?: number; ratio?: number };
  seconds: number;
  warnings: string[];
}

function skipped(backend: BackendName, why: string): ConntrackResult {
  return {
    skipped: why, backend, method: "", step_s: CT_STEP_S, steps: [], listeners: [], expected: 0,
    kernel: { new_flows: 0, replies: 0, entries: 0, insert_failed: 0, drop: 0, early_drop: 0 }, seconds: 0, warnings: [],
  };
}

// ---------------------------------------------------------------------------------------------
// the kernel's figures

function inNs(ns: string, ...cmd: string[]): string {
  return must(["ip", "netns", "exec", ns, ...cmd]);
}

/** the nftables rule's two counters: packets ct state new, packets in the reply direction */
function nftCounts(ns: string): { created: number; replies: number } {
  const c = [...inNs(ns, "nft", "list", "chain", "ip", NFT_TABLE, "out").matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  if (c.length !== 2) throw new Error("conntrack: the nftables chain does not hold its two counters");
  return { created: c[0]!, replies: c[1]! };
}

function ctCount(ns: string): number {
  const n = Number(inNs(ns, "conntrack", "-C").trim());
  if (!Number.isFinite(n)) throw new Error("conntrack -C: not a number");
  return n;
}

/** per-CPU counters of `conntrack -S`, summed */
function ctStats(ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of inNs(ns, "conntrack", "-S").matchAll(/(\w+)=(\d+)/g)) if (m[1] !== "cpu") out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

function readSysctl(file: string): number | undefined {
  try {
    const n = Number(fs().readFileSync(file, "utf8").trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

interface SockInfo { drops?: number; rcvbuf?: number }

/** each listener's NETLINK_NETFILTER socket with groups joined: the kernel's drop count and sk_rcvbuf */
function socketInfo(ns: string, pids: number[]): SockInfo[] {
  const table = run(["ip", "netns", "exec", ns, "cat", "/proc/net/netlink"]).out;
  const ss = run(["ip", "netns", "exec", ns, "ss", "-f", "netlink", "-m", "-a"]).out;
  // "nft:-956286523 ... rb212992" (an autobound port id, signed) or "nft:conntrack/1234" (= the pid)
  const rb = new Map<number, number>();
  for (const l of ss.split("\n")) {
    const m = /\snft:(\S+)\s.*\brb(\d+)/.exec(l);
    if (!m) continue;
    const id = /\/(\d+)$/.exec(m[1]!)?.[1] ?? m[1]!;
    const n = Number(id);
    if (Number.isFinite(n)) rb.set(n >>> 0, Number(m[2]));
  }
  return pids.map((pid) => {
    const inodes = new Set<string>();
    try {
      for (const f of fs().readdirSync(`/proc/${pid}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(fs().readlinkSync(`/proc/${pid}/fd/${f}`));
          if (m) inodes.add(m[1]!);
        } catch { /* closed meanwhile */ }
      }
    } catch {
      return {};
    }
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    for (const l of table.split("\n")) {
      const f = l.trim().split(/\s+/);
      if (f.length < 10 || f[1] !== "12" || /^0+$/.test(f[3]!) || !inodes.has(f[9]!)) continue;
      return { drops: Number(f[8]), rcvbuf: rb.get(Number(f[2]) >>> 0) };
    }
    return {};
  });
}

// ---------------------------------------------------------------------------------------------
// the listeners

interface CtTool {
  name: string;
  pid: number;
  path: string;
  running: () => boolean;
  stop: () => Promise<{ code: number; stderr: string }>;
}

function startConntrackE(ns: string, dir: string, buffer: number): CtTool {
  const file = path().join(dir, "conntrack-E.txt");
  const p = spawnTracked(["ip", "netns", "exec", ns, "conntrack", "-E", "-o", "id", "-b", String(buffer)], { stdout: Bun.file(file) });
  const running = () => p.proc.exitCode === null && p.proc.signalCode === null;
  let done: Promise<{ code: number; stderr: string }> | undefined;
  return {
    name: "conntrack -E", pid: p.proc.pid, path: file, running,
    stop() {
      done ??= (async () => {
        // SIGINT: it prints how many events it has shown and exits
        if (running()) p.proc.kill("SIGINT");
        const killer = setTimeout(() => p.proc.kill("SIGKILL"), 10_000);
        const code = await p.proc.exited;
        clearTimeout(killer);
        return { code, stderr: await p.stderr };
      })();
      return done;
    },
  };
}

/** the last bytes of a file: where an end mark is once a listener has written it */
function tail(file: string, bytes = 65536): string {
  let fd: number | undefined;
  try {
    fd = fs().openSync(file, "r");
    const size = fs().fstatSync(fd).size;
    const n = Math.min(size, bytes);
    const buf = Buffer.alloc(n);
    fs().readSync(fd, buf, 0, n, size - n);
    return buf.toString("latin1");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) fs().closeSync(fd);
  }
}

let markNo = 0;
/**
 * A conntrack entry 10.95.0.1:K -> 10.95.0.2:7 (conntrack -I, 600 s) until both listeners have
 * printed its NEW: everything the kernel announced before it has then been seen (or lost) by both,
 * since a socket delivers in order. Only the end of each output is read, so waiting costs the
 * listeners no CPU.
 */
async function syncMark(ns: string, nl: Listener, ct: CtTool, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  const marks: number[] = [];
  while (Date.now() < end) {
    const k = ++markNo;
    const r = run(["ip", "netns", "exec", ns, "conntrack", "-I", "-p", "udp", "-s", MARK_SRC, "-d", MARK_DST, "--sport", String(k), "--dport", "7", "-t", "600"]);
    if (r.code !== 0) throw new Error(`conntrack -I (mark): ${(r.err || r.out).trim()}`);
    marks.push(k);
    const tryEnd = Math.min(end, Date.now() + 2000);
    for (;;) {
      const a = tail(nl.eventsPath);
      const b = tail(ct.path);
      const seenNl = marks.some((m) => a.includes(`"src":"${MARK_SRC}","dst":"${MARK_DST}","sport":${m},"dport":7}`));
      const seenCt = marks.some((m) => b.includes(`src=${MARK_SRC} dst=${MARK_DST} sport=${m} dport=7 `));
      if (seenNl && seenCt) return true;
      if (!nl.running) throw new Error(`nlmon exited early: ${(await nl.stop()).stderr.trim().split("\n").slice(-3).join(" / ")}`);
      if (!ct.running()) throw new Error(`conntrack -E exited early: ${(await ct.stop()).stderr.trim().split("\n").slice(-3).join(" / ")}`);
      if (Date.now() >= tryEnd) break;
      await sleep(50);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// counting

interface StepRange { first: number; flows: number }

class CtTally {
  /** per event type a bitmap over every flow of the run: 0 not seen, 1 seen */
  private readonly seenNew: Uint8Array;
  private readonly seenUpdate: Uint8Array;
  readonly received: number[];
  readonly distinct: number[];
  unexpected = 0;
  repaired = 0;
  constructor(private readonly steps: StepRange[], flows: number) {
    this.seenNew = new Uint8Array(flows);
    this.seenUpdate = new Uint8Array(flows);
    this.received = steps.map(() => 0);
    this.distinct = steps.map(() => 0);
  }
  add(event: string, dst: string, port: number): void {
    const s = port - PORT_BASE;
    const q = dst.split(".");
    const i = (((Number(q[0]) << 24) | (Number(q[1]) << 16) | (Number(q[2]) << 8) | Number(q[3])) >>> 0) - FLOW_BASE;
    const st = this.steps[s];
    const bits = event === "new" ? this.seenNew : event === "update" ? this.seenUpdate : undefined;
    if (!st || !bits || i < st.first || i >= st.first + st.flows) {
      this.unexpected++;
      return;
    }
    this.received[s]!++;
    if (bits[i] === 0) {
      bits[i] = 1;
      this.distinct[s]!++;
    }
  }
}

/** a resync line (conntrack_cache on) is the cache's object: its "event" comes last */
const NL_RESYNC = /"original":\{"src":"10\.9\.0\.1","dst":"[\d.]+","sport":\d+,"dport":\d+\}/;
const NL_LINE = /"event":"(new|update|destroy)".*?"original":\{"src":"10\.9\.0\.1","dst":"([\d.]+)","sport":\d+,"dport":(\d+)\}/;
const CT_LINE = /^\s*\[(NEW|UPDATE|DESTROY)\]\s.*? src=10\.9\.0\.1 dst=([\d.]+) sport=\d+ dport=(\d+) /;

/** every line of a file, read in pieces (the nlmon output of a run is some hundred MB) */
function eachLine(file: string, onLine: (l: string) => void): void {
  let fd: number;
  try {
    fd = fs().openSync(file, "r");
  } catch {
    return;
  }
  const buf = Buffer.alloc(4 << 20);
  let carry = "";
  try {
    for (;;) {
      const n = fs().readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      const parts = (carry + buf.toString("latin1", 0, n)).split("\n");
      carry = parts.pop()!;
      for (const p of parts) onLine(p);
    }
    if (carry) onLine(carry);
  } finally {
    fs().closeSync(fd);
  }
}

function countNlmon(file: string, steps: StepRange[], flows: number): CtTally {
  const t = new CtTally(steps, flows);
  eachLine(file, (l) => {
    if (!l.includes('"src":"10.9.0.1"')) return;
    // found by a re-dump after an overrun (conntrack_cache on), not received
    if (l.includes('"resync":true')) {
      if (NL_RESYNC.test(l)) t.repaired++;
      return;
    }
    const m = NL_LINE.exec(l);
    if (m) t.add(m[1]!, m[2]!, Number(m[3]));
  });
  return t;
}

function countConntrack(file: string, steps: StepRange[], flows: number): CtTally {
  const t = new CtTally(steps, flows);
  eachLine(file, (l) => {
    const m = CT_LINE.exec(l);
    if (m) t.add(m[1]!.toLowerCase(), m[2]!, Number(m[3]));
  });
  return t;
}

// ---------------------------------------------------------------------------------------------
// the row

/** the user's config with NETLINK_NETFILTER's conntrack groups alone, and the row's receive buffer */
export function conntrackConfig(cfg: NlmonConfig, receive: number): NlmonConfig {
  const c = structuredClone(cfg);
  c.netlink.protocols = { route: false, generic: false, sock_diag: false, netfilter: true };
  c.netlink.netfilter = { ...c.netlink.netfilter, conntrack: true, expectations: false, nftables: false, dump_on_start: false, enable_accounting: false };
  c.netlink.buffer_size = { ...c.netlink.buffer_size, receive };
  return c;
}

const NEEDS: [string, string][] = [["conntrack", " (conntrack-tools)"], ["nft", " (nftables)"], ["python3", ""], ["ss", " (iproute2)"]];

/** lo with 10.9.0.1 and a local route for the flows' addresses; conntrack on, nothing expiring */
function setup(ns: string, dir: string): void {
  ip(ns, "link", "set", "lo", "up");
  ip(ns, "addr", "add", "10.9.0.1/32", "dev", "lo");
  ip(ns, "route", "add", "local", "10.96.0.0/12", "dev", "lo");
  const rules = path().join(dir, "conntrack.nft");
  // `table ip`: IPv4 only, so no IPv6 housekeeping packet makes an entry
  fs().writeFileSync(rules, `table ip ${NFT_TABLE} {\n  chain out {\n    type filter hook output priority 0; policy accept;\n`
    + `    ct state new counter\n    ct direction reply counter\n  }\n}\n`);
  inNs(ns, "nft", "-f", rules);
  // conntrack's sysctls are the namespace's own
  const set = (k: string, v: number) => `echo ${v} > /proc/sys/net/netfilter/${k}`;
  inNs(ns, "sh", "-c", [set("nf_conntrack_events", 1), set("nf_conntrack_udp_timeout", UDP_TIMEOUT_S), set("nf_conntrack_udp_timeout_stream", UDP_TIMEOUT_S)].join(" && "));
}

export async function conntrackRow(ns: string, dir: string, cfg: NlmonConfig, backend: BackendName, say: (m: string) => void): Promise<ConntrackResult> {
  for (const [tool, what] of NEEDS) if (!Bun.which(tool)) return skipped(backend, `${tool} not found${what}`);
  const t0 = performance.now();
  const warnings: string[] = [];
  addNamespace(ns);
  let result: ConntrackResult | undefined;
  try {
    try {
      setup(ns, dir);
    } catch (e) {
      return (result = { ...skipped(backend, `conntrack in a namespace: ${(e as Error).message}`), namespace: ns });
    }
    const rmem = readSysctl("/proc/sys/net/core/rmem_default") ?? 212_992;
    // both are asked for the configured receive buffer (netlink.buffer_size.receive, conntrack -b):
    // what an operator who sets it gets. nlmon applies it to its event socket (SO_RCVBUFFORCE);
    // conntrack 1.4.7 applies -b to its command socket, so its event socket keeps
    // net.core.rmem_default. The row prints the sizes each socket really has (ss -m).
    const requested = cfg.netlink.buffer_size.receive;
    // every entry stays until the namespace goes: keep well under the table's limit
    const ctMax = readSysctl("/proc/sys/net/netfilter/nf_conntrack_max") ?? 262_144;
    const maxFlows = Math.min(FLOW_SPACE, Math.floor(ctMax * 0.75));

    say(`conntrack: namespace ${ns}, nlmon (${backend}) and conntrack -E, receive buffer ${requested} bytes requested each`);
    const ct = startConntrackE(ns, dir, requested);
    const nl = startNlmon(ns, dir, "conntrack-nlmon", conntrackConfig(cfg, requested), backend, false);
    try {
      if (!(await syncMark(ns, nl, ct, 30_000))) throw new Error("conntrack: listeners did not report a start mark within 30 s");
      let cpuNl = cpuSeconds(nl.pid);
      let cpuCt = cpuSeconds(ct.pid);
      const stats0 = ctStats(ns);
      const ranges: StepRange[] = [];
      const live: Omit<ConntrackStep, "listeners" | "expected_new" | "expected_update" | "expected" | "events_per_s">[] = [];
      const cpu: { nl?: number; ct?: number }[] = [];
      let next = 0;
      for (let s = 0; s < CT_STEP_RATES.length; s++) {
        if ((performance.now() - t0) / 1000 > BUDGET_S) {
          warnings.push(`steps ${s + 1}-${CT_STEP_RATES.length} not run: the row's time budget (${BUDGET_S} s) was spent`);
          break;
        }
        const rate = CT_STEP_RATES[s]!;
        const flows = Math.min(rate > 0 ? Math.round(rate * CT_STEP_S) : CT_FULL_FLOWS, maxFlows - next);
        if (flows <= 0) break;
        say(`conntrack: step ${s + 1}: ${flows} flows ${rate > 0 ? `at ${rate} flows/s` : "at full speed"}`);
        const k0 = nftCounts(ns);
        const count0 = ctCount(ns);
        const g = await generate(ns, next, flows, rate, PORT_BASE + s);
        const k1 = nftCounts(ns);
        const count1 = ctCount(ns);
        const drained = await syncMark(ns, nl, ct, 20_000);
        const n1 = cpuSeconds(nl.pid);
        const c1 = cpuSeconds(ct.pid);
        cpu.push({ nl: n1 !== undefined && cpuNl !== undefined ? n1 - cpuNl : undefined, ct: c1 !== undefined && cpuCt !== undefined ? c1 - cpuCt : undefined });
        cpuNl = n1;
        cpuCt = c1;
        ranges.push({ first: next, flows });
        const created = k1.created - k0.created;
        const replies = k1.replies - k0.replies;
        live.push({
          step: s + 1, target_flows_per_s: rate > 0 ? rate : null, flows, sent: g.sent, send_errors: g.send_errors, replied: g.replied,
          send_s: g.send_s, span_s: g.span_s, flows_per_s: g.send_s > 0 ? g.sent / g.send_s : 0,
          kernel_new: created, kernel_replies: replies, kernel_entries: count1 - count0, drained,
        });
        if (g.sent !== created || g.replied !== replies) warnings.push(`step ${s + 1}: the generator sent ${g.sent} requests and ${g.replied} replies, the kernel counted ${created} new and ${replies} replies`);
        if (count1 - count0 !== created) warnings.push(`step ${s + 1}: ${created} entries made, the table grew by ${count1 - count0}`);
        if (!drained) {
          warnings.push(`step ${s + 1}: the listeners did not report the end mark within 20 s; no further step`);
          break;
        }
        next += flows;
        // both have lost events by now (the kernel's drop counters): a faster step would say nothing more
        const socks = socketInfo(ns, [nl.pid, ct.pid]);
        if ((socks[0]?.drops ?? 0) > 0 && (socks[1]?.drops ?? 0) > 0) break;
      }
      const stats1 = ctStats(ns);
      const socks = socketInfo(ns, [nl.pid, ct.pid]);
      const nlStop = await nl.stop();
      const ctStop = await ct.stop();

      say("conntrack: counting");
      const tn = countNlmon(nl.eventsPath, ranges, next);
      const tc = countConntrack(ct.path, ranges, next);
      const nlName = `nlmon (${backend})`;
      const steps: ConntrackStep[] = live.map((st, i) => {
        const expected = st.kernel_new + st.kernel_replies;
        const one = (name: string, t: CtTally, c: number | undefined): ConntrackStepListener => ({
          name, received: t.received[i]!, distinct: t.distinct[i]!, lost: Math.max(0, expected - t.distinct[i]!),
          duplicated: t.received[i]! - t.distinct[i]!, cpu_s: c,
        });
        return {
          ...st, expected_new: st.kernel_new, expected_update: st.kernel_replies, expected,
          events_per_s: st.span_s > 0 ? expected / st.span_s : 0,
          listeners: [one(nlName, tn, cpu[i]?.nl), one("conntrack -E", tc, cpu[i]?.ct)],
        };
      });
      const expected = steps.reduce((a, s) => a + s.expected, 0);
      const listener = (k: number, t: CtTally, name: string, command: string, extra: Partial<ConntrackListener>, code: number, stderr: string): ConntrackListener => {
        const received = steps.reduce((a, s) => a + s.listeners[k]!.received, 0);
        const distinct = steps.reduce((a, s) => a + s.listeners[k]!.distinct, 0);
        const cpuS = steps.every((s) => s.listeners[k]!.cpu_s !== undefined) ? steps.reduce((a, s) => a + s.listeners[k]!.cpu_s!, 0) : undefined;
        const kept = steps.filter((s) => s.listeners[k]!.lost === 0 && s.listeners[k]!.duplicated === 0).map((s) => s.events_per_s);
        return {
          name, command, expected, received, distinct,
          lost: steps.reduce((a, s) => a + s.listeners[k]!.lost, 0),
          duplicated: received - distinct, unexpected: t.unexpected, extra: Math.max(0, distinct - expected),
          overruns: 0, kernel_drops: socks[k]?.drops, receive_buffer_bytes: socks[k]?.rcvbuf,
          cpu_s: cpuS, cpu_us_per_event: cpuS !== undefined && received > 0 ? (cpuS / received) * 1e6 : undefined,
          kept_up_events_per_s: kept.length ? Math.max(...kept) : undefined,
          exit_code: code,
          warnings: stderr.split("\n").map((x) => x.trim())
            .filter((x) => x && !/We have hit ENOBUFS|This message means|Please, check --buffer-size|flow events have been shown/.test(x)).slice(-5),
          ...extra,
        };
      };
      const shown = /(\d+) flow events have been shown/.exec(ctStop.stderr);
      const nlL = listener(0, tn, nlName, "nlmon: NETLINK_NETFILTER's conntrack groups alone, the JSON export to a file", {
        repaired: tn.repaired, overruns: nlStop.stats?.overruns ?? 0, own_count: nlStop.stats?.events,
        receive_buffer_bytes: socks[0]?.rcvbuf ?? (nlStop.stats?.rcvbuf[0] !== undefined ? nlStop.stats.rcvbuf[0] * 2 : undefined),
      }, nlStop.code, nlStop.stderr);
      const ctL = listener(1, tc, "conntrack -E", `conntrack -E -o id -b ${requested} > file`, {
        overruns: (ctStop.stderr.match(/We have hit ENOBUFS/g) ?? []).length, own_count: shown ? Number(shown[1]) : undefined,
      }, ctStop.code, ctStop.stderr);
      for (const l of [nlL, ctL]) {
        if (l.unexpected) warnings.push(`${l.name}: ${l.unexpected} events of ours that no step made`);
        if (l.extra) warnings.push(`${l.name}: ${l.extra} distinct events beyond the kernel's count`);
      }
      const clean = steps.filter((s) => s.step > CT_WARMUP_STEPS && s.listeners.every((l) => l.lost === 0 && l.duplicated === 0));
      const compared = clean.length ? clean : steps.filter((s) => s.step > CT_WARMUP_STEPS);
      const perEvent = (k: number) => {
        const ls = compared.map((s) => s.listeners[k]!);
        const received = ls.reduce((a, l) => a + l.received, 0);
        return ls.some((l) => l.cpu_s === undefined) || received === 0 ? undefined : (ls.reduce((a, l) => a + l.cpu_s!, 0) / received) * 1e6;
      };
      const usNl = perEvent(0);
      const usCt = perEvent(1);
      const firstLoss = steps.findIndex((s) => s.listeners[1]!.lost > 0);
      const through = firstLoss >= 0 ? steps.slice(0, firstLoss + 1) : steps;
      const d = (k: string) => (stats1[k] ?? 0) - (stats0[k] ?? 0);
      return (result = {
        backend, namespace: ns,
        method: `flows: a UDP request from 10.9.0.1 to an address of its own in 10.96.0.0/12 (local on lo) and its reply (python3, client and server in one process), `
          + `${CT_STEP_S} s per step at each rate (the last as fast as the generator goes); events: NEW when the request leaves, UPDATE (seen-reply) when the reply leaves; `
          + `expected: the nftables rule's counts of ct state new and reply-direction packets; lost = expected - distinct (event, flow); duplicated = lines - distinct; `
          + `CPU: utime+stime from /proc/PID/stat between the end marks (a conntrack -I entry both must print), compared from step ${CT_WARMUP_STEPS + 1} (step 1 warms both up)`,
        receive_buffer_requested: requested, rmem_default: rmem, step_s: CT_STEP_S,
        steps, listeners: [nlL, ctL], expected,
        kernel: {
          new_flows: steps.reduce((a, s) => a + s.kernel_new, 0), replies: steps.reduce((a, s) => a + s.kernel_replies, 0),
          entries: steps.reduce((a, s) => a + s.kernel_entries, 0),
          insert_failed: d("insert_failed"), drop: d("drop"), early_drop: d("early_drop"),
        },
        conntrack_first_loss_step: firstLoss >= 0 ? firstLoss + 1 : undefined,
        nlmon_lost_through: through.reduce((a, s) => a + s.listeners[0]!.lost, 0),
        nlmon_duplicated_through: through.reduce((a, s) => a + s.listeners[0]!.duplicated, 0),
        cpu_compared: {
          steps: compared.map((s) => s.step), all_steps: clean.length === 0, nlmon_us_per_event: usNl, conntrack_us_per_event: usCt,
          ratio: usNl !== undefined && usCt ? usNl / usCt : undefined,
        },
        seconds: (performance.now() - t0) / 1000,
        warnings,
      });
    } finally {
      if (nl.running) await nl.stop();
      await ct.stop();
    }
  } finally {
    const removed = delNamespace(ns);
    if (result) result.namespace_removed = removed;
    for (const f of ["conntrack-E.txt", "conntrack-nlmon.ndjson"]) fs().rmSync(path().join(dir, f), { force: true });
  }
}
