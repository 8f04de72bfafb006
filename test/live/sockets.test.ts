/**
 * NETLINK_SOCK_DIAG against iproute2's ss, on both backends, each in namespaces of its own.
 *
 * Churn (one run per backend, several tests read it): nlmon (sock_diag, interval 1 s) and
 * `ss -E -tune` watch while a Python process opens two TCP listeners (IPv4 and IPv6) and a UDP
 * socket it keeps, then 20 TCP connections (half over each listener) and 10 UDP sockets (IPv4 and
 * IPv6, each sends to another and receives), then closes the connections (client first), the UDP
 * sockets and the listeners. Then the TIME-WAIT sockets the clients left are ended early with
 * `ss -K` (they would end by themselves after 60 s).
 *  - nlmon's destroy notifications are ss -E's lines, one for one (protocol, state, addresses,
 *    cookie), none twice;
 *  - no socket gets both a destroy and a derived close, within two intervals of the close and
 *    after its TIME-WAIT ends;
 *  - derived opens: the listeners (LISTEN), the kept UDP socket and every connection appear as
 *    derived "open" events, timed between the action and one interval (+1 s) after it; a listener's
 *    close is the kernel's destroy notification (the kernel sends one for listeners too), not a
 *    derived close.
 *
 * The socket list: `nlmon --dump-events` with sock_diag equals `ss -tuanieH`'s list in a namespace
 * with listeners, connections, a TIME-WAIT socket and UDP sockets (IPv4, IPv6, v4-mapped, bound
 * to a device); with `ports: [P]` it equals ss's `sport = :P or dport = :P`, with
 * `states: [listen]` ss's `state listening`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { NlEvent } from "../../src/event/model.ts";
import { BACKENDS, type Child, Lines, liveFile, must, parseEvents, runNlmon, sleep, startNlmon, writeConfig } from "./lib.ts";
import { diagEvents, diagRec, eventMs, parseSsLine, showSock, type SockRec } from "./ss-tool.ts";

const INTERVAL_S = 1;
const N_TCP = 20;
const N_UDP = 10;

const { dir, freshNs } = liveFile("sockets", [["ss", "iproute2"], ["python3", "python3"]]);

const CFG = writeConfig(dir, "sd.yaml", `netlink:\n  protocols: { route: false, sock_diag: true }\n  sock_diag: { interval: ${INTERVAL_S} }\n`);


function ifindexer(ns: string): (dev: string) => number {
  const links = JSON.parse(must(["ip", "-n", ns, "-j", "link", "show"])) as { ifindex: number; ifname: string }[];
  return (dev) => links.find((l) => l.ifname === dev)?.ifindex ?? -1;
}

/** a child driven line by line: commands on stdin, JSON replies on stdout */
function spawnDriver(cmd: string[]) {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const out = new Lines(proc.stdout);
  const err = new Lines(proc.stderr);
  let seen = 0;
  return {
    proc, out, err,
    send(line: string) {
      proc.stdin.write(line + "\n");
      proc.stdin.flush();
    },
    /** the next JSON line, within timeoutMs */
    async next<T>(timeoutMs = 10_000): Promise<T> {
      const i = await out.waitLine(() => true, timeoutMs, seen);
      if (i < 0) throw new Error(`driver said nothing within ${timeoutMs} ms; stderr: ${err.lines.join(" / ")}`);
      seen = i + 1;
      return JSON.parse(out.lines[i]!) as T;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// churn

/** sockets as "proto local peer" keys, the form of sockKey below */
type Sock = [proto: string, local: string, lport: number, peer: string, pport: number];

const CHURN = `
import socket, sys, json
N_TCP, N_UDP = ${N_TCP}, ${N_UDP}
def say(**kw): print(json.dumps(kw), flush=True)
def wait(): sys.stdin.readline()
def desc(proto, s):
    l = s.getsockname()
    try: p = s.getpeername()
    except OSError: p = ("::" if s.family == socket.AF_INET6 else "0.0.0.0", 0)
    return [proto, l[0], l[1], p[0], p[1]]
wait()
l4 = socket.socket(); l4.bind(("127.0.0.1", 0)); l4.listen(64)
l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 0)); l6.listen(64)
keep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); keep.bind(("127.0.0.1", 0))
say(listeners=[desc("tcp", l4), desc("tcp", l6)], keep=desc("udp", keep))
wait()
conns = []
for i in range(N_TCP):
    l, host = (l4, "127.0.0.1") if i % 2 == 0 else (l6, "::1")
    c = socket.create_connection((host, l.getsockname()[1])); a, _ = l.accept()
    c.sendall(b"ping"); a.recv(4); a.sendall(b"pong"); c.recv(4)
    conns.append((c, a))
udps = []
for i in range(N_UDP):
    fam, host = (socket.AF_INET, "127.0.0.1") if i % 2 == 0 else (socket.AF_INET6, "::1")
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host, 0)); u.settimeout(2); udps.append(u)
for i, u in enumerate(udps):
    u.sendto(b"x", udps[(i + 2) % N_UDP].getsockname()[:2])
for u in udps: u.recvfrom(16)
say(clients=[desc("tcp", c) for c, a in conns], accepted=[desc("tcp", a) for c, a in conns], udp=[desc("udp", u) for u in udps])
wait()
for c, a in conns:
    c.close(); a.close()
for u in udps: u.close()
l4.close(); l6.close()
say(closed=True)
wait()
`;

/** "proto local:port peer:port" as nlmon prints addresses, port 0 as * */
const sockKey = (s: Sock) => `${s[0]} ${s[1]}:${s[2] || "*"} ${s[3]}:${s[4] || "*"}`;
const evKey = (r: SockRec) => `${r.proto} ${r.local} ${r.peer}`;

interface ChurnRun {
  stderr: string[];
  /** ss -E's records after the sync */
  tool: SockRec[];
  /** nlmon's diag events after the sync, and the index where the TIME-WAIT sockets were ended */
  events: NlEvent[];
  twCut: number;
  twKilled: number;
  listeners: Sock[];
  keep: Sock;
  clients: Sock[];
  accepted: Sock[];
  udp: Sock[];
  /** Date.now() around each action */
  tListen: [number, number];
  tConnect: [number, number];
  tClose: [number, number];
  /** Date.now() once every open had been printed, once every destroy had, at the end */
  tSeen: number;
  tDestroyed: number;
  tEnd: number;
}

async function churn(b: (typeof BACKENDS)[number]): Promise<ChurnRun> {
  const ns = freshNs(`sk${b.name}`);
  const ifindexOf = ifindexer(ns);
  const mon: Child = startNlmon({ ns, args: ["--config", CFG], env: b.env });
  // iproute2 6.1's ss -E writes nothing to a pipe unless its stdout is unbuffered or line-buffered
  const ssProc = Bun.spawn(["ip", "netns", "exec", ns, "stdbuf", "-oL", "ss", "-E", "-tune"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const ssOut = new Lines(ssProc.stdout);
  const py = spawnDriver(["ip", "netns", "exec", ns, "python3", "-c", CHURN]);
  try {
    expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
    // the baseline dump is done: sockets opened from now on are differences
    expect(await mon.err.waitLine((l) => l.includes("sockets at start"), 15_000)).toBeGreaterThanOrEqual(0);
    // sync: a UDP socket opened and closed until both report its destroy; what follows reaches both
    let cut: { mon: number; ss: number } | undefined;
    const end = Date.now() + 15_000;
    while (!cut && Date.now() < end) {
      const port = Number(must(["ip", "netns", "exec", ns, "python3", "-c",
        "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0)); print(u.getsockname()[1]); u.close()"]).trim());
      const s = await ssOut.waitLine((l) => l.startsWith("udp") && l.includes(`127.0.0.1:${port} `), 1500);
      const m = s < 0 ? -1 : await mon.out.waitLine((l) => l.includes('"change":"destroy"') && l.includes(`"sport":${port},`), 1500);
      if (s >= 0 && m >= 0) cut = { mon: m + 1, ss: s + 1 };
    }
    if (!cut) throw new Error(`ss -E and nlmon did not both report a UDP socket's destroy within 15 s; nlmon stderr: ${mon.err.lines.join(" / ")}`);

    const t0 = Date.now();
    py.send("go");
    const opened = await py.next<{ listeners: Sock[]; keep: Sock }>();
    const t1 = Date.now();
    py.send("go");
    const conns = await py.next<{ clients: Sock[]; accepted: Sock[]; udp: Sock[] }>();
    const t2 = Date.now();
    // every socket has been in a dump before it is closed: a missing close could not go unnoticed
    const all = [...opened.listeners, opened.keep, ...conns.clients, ...conns.accepted, ...conns.udp].map(sockKey);
    const seenOpen = async () => {
      const end2 = Date.now() + (INTERVAL_S + 4) * 1000;
      for (;;) {
        const opens = new Set(diagEvents(parseEvents(mon.out.lines.slice(cut!.mon))).filter((x) => x.ev.derived && x.b.change === "open").map((x) => evKey(diagRec(x.b))));
        const missing = all.filter((k) => !opens.has(k));
        if (missing.length === 0) return;
        if (Date.now() > end2) throw new Error(`no derived open for ${missing.length} sockets: ${missing.slice(0, 5).join(" | ")}`);
        await sleep(100);
      }
    };
    await seenOpen();
    const t3 = Date.now();
    py.send("go");
    await py.next<{ closed: boolean }>();
    const t4 = Date.now();
    // both have every destroy: 2 per connection, each UDP socket, the listeners
    const want = 2 * N_TCP + N_UDP + 2;
    const countSs = () => ssOut.lines.slice(cut!.ss).filter((l) => /^(tcp|udp)\s/.test(l)).length;
    const countMon = () => diagEvents(parseEvents(mon.out.lines.slice(cut!.mon))).filter((x) => !x.ev.derived && x.b.change === "destroy").length;
    const end3 = Date.now() + 15_000;
    while ((countSs() < want || countMon() < want) && Date.now() < end3) await sleep(50);
    const tDestroyed = Date.now();
    // three intervals and a half: every dump that could report a close again has been compared, and
    // nlmon has dropped its note of the destroy (kept two intervals) as it would long before a
    // TIME-WAIT socket ends by itself (60 s)
    await sleep(3500 * INTERVAL_S);
    const twCut = mon.out.lines.length;
    // the clients' TIME-WAIT sockets: end them now rather than in 60 s (the kernel announces no destroy for them)
    const tw = must(["ip", "netns", "exec", ns, "ss", "-tanH", "state", "time-wait"]).split("\n").filter((l) => l.trim()).length;
    must(["ip", "netns", "exec", ns, "ss", "-K", "-tan", "state", "time-wait"]);
    expect(must(["ip", "netns", "exec", ns, "ss", "-tanH", "state", "time-wait"]).trim()).toBe("");
    await sleep(2500 * INTERVAL_S);
    const tEnd = Date.now();
    const events = parseEvents(mon.out.lines.slice(cut.mon));
    return {
      stderr: mon.err.lines, events, twCut: twCut - cut.mon, twKilled: tw,
      tool: ssOut.lines.slice(cut.ss).map((l) => parseSsLine(l, ifindexOf)).filter((r) => r !== undefined),
      listeners: opened.listeners, keep: opened.keep, clients: conns.clients, accepted: conns.accepted, udp: conns.udp,
      tListen: [t0, t1], tConnect: [t1, t2], tClose: [t3, t4], tSeen: t3, tDestroyed, tEnd,
    };
  } finally {
    await mon.stop();
    ssProc.kill("SIGTERM");
    await ssProc.exited;
    await ssOut.done;
    py.send("exit");
    const killer = setTimeout(() => py.proc.kill("SIGKILL"), 3000);
    await py.proc.exited;
    clearTimeout(killer);
  }
}

describe("sock_diag destroy and derived events against ss -E", () => {
  for (const b of BACKENDS) {
    let run: Promise<ChurnRun> | undefined;
    const get = () => (run ??= churn(b));

    test(`${b.name}: destroy notifications equal ss -E's, one for one`, async () => {
      const r = await get();
      const tool = r.tool.map(showSock).sort();
      const destroys = r.events.filter((e) => !e.derived && e.netlink.diag?.change === "destroy").map((e) => showSock(diagRec(e.netlink.diag!))).sort();
      // the set-up worked: ss saw every socket go
      expect(r.tool.filter((x) => x.proto === "tcp").length).toBe(2 * N_TCP + 2);
      expect(r.tool.filter((x) => x.proto === "udp").length).toBe(N_UDP);
      expect(new Set(tool).size).toBe(tool.length);
      expect(destroys).toEqual(tool);
      // and they are the sockets the driver had
      const closed = [...r.listeners, ...r.clients, ...r.accepted, ...r.udp].map(sockKey).sort();
      expect(r.tool.map(evKey).sort()).toEqual(closed);
    }, 60_000);

    test(`${b.name}: no socket is closed twice (destroy, then a derived close) within two intervals`, async () => {
      const r = await get();
      const destroyed = new Set(r.events.filter((e) => !e.derived && e.netlink.diag?.change === "destroy").map((e) => e.netlink.diag!.cookie));
      expect(destroyed.size).toBe(2 * N_TCP + N_UDP + 2);
      const twice = r.events.slice(0, r.twCut).filter((e) => e.derived && e.netlink.diag?.change === "close" && destroyed.has(e.netlink.diag.cookie));
      expect(twice.map((e) => showSock(diagRec(e.netlink.diag!)))).toEqual([]);
    }, 60_000);

    test(`${b.name}: a connection whose destroy came is not closed again when its TIME-WAIT ends`, async () => {
      const r = await get();
      // each client's active close left a TIME-WAIT socket, which keeps the socket's cookie
      expect(r.twKilled).toBe(N_TCP);
      const destroyed = new Set(r.events.filter((e) => !e.derived && e.netlink.diag?.change === "destroy").map((e) => e.netlink.diag!.cookie));
      const twice = r.events.filter((e) => e.derived && e.netlink.diag?.change === "close" && destroyed.has(e.netlink.diag.cookie));
      expect(twice.map((e) => showSock(diagRec(e.netlink.diag!)))).toEqual([]);
    }, 60_000);

    test(`${b.name}: derived opens of listeners, connections and a kept UDP socket, timed between the action and their printing`, async () => {
      const r = await get();
      const derived = r.events.filter((e) => e.derived);
      const opens = new Map(derived.filter((e) => e.netlink.diag!.change === "open").map((e) => [evKey(diagRec(e.netlink.diag!)), e]));
      // a derived event is stamped at the dump that found it: after the action, before it was printed
      const late: string[] = [];
      const check = (socks: Sock[], state: string, [from]: [number, number]) => {
        for (const s of socks) {
          const e = opens.get(sockKey(s));
          expect(e === undefined ? `no derived open for ${sockKey(s)}` : e.netlink.diag!.state).toBe(state);
          const t = eventMs(e!);
          if (!(t >= from && t <= r.tSeen + 1)) late.push(`${sockKey(s)} at ${e!.timestamp}, action from ${new Date(from).toISOString()}, printed by ${new Date(r.tSeen).toISOString()}`);
        }
      };
      check(r.listeners, "LISTEN", r.tListen);
      check([r.keep], "UNCONN", r.tListen);
      check([...r.clients, ...r.accepted], "ESTAB", r.tConnect);
      check(r.udp, "UNCONN", r.tConnect);
      expect(late).toEqual([]);
      // the listeners' close: the kernel announces a listener's destruction like any other socket's
      // (ss -E shows it), so it is a destroy and no derived close
      const lcookies = r.listeners.map((s) => opens.get(sockKey(s))!.netlink.diag!.cookie);
      for (const c of lcookies) {
        const d = r.events.filter((e) => e.netlink.diag?.cookie === c && e.netlink.diag?.change !== "open");
        expect(d.map((e) => `${e.derived ? "derived " : ""}${e.netlink.diag!.change}`)).toEqual(["destroy"]);
        const t = eventMs(d[0]!);
        expect(t >= r.tClose[0] && t <= r.tDestroyed + 1).toBe(true);
      }
      // the UDP socket kept open is never closed
      const kc = opens.get(sockKey(r.keep))!.netlink.diag!.cookie;
      expect(r.events.filter((e) => e.netlink.diag?.cookie === kc).map((e) => e.netlink.diag!.change)).toEqual(["open"]);
      // any other derived change (the clients' move to TIME-WAIT) is timed after the close began
      for (const e of derived.filter((x) => x.netlink.diag!.change === "state")) {
        const t = eventMs(e);
        expect(t >= r.tClose[0] && t <= r.tEnd + 1).toBe(true);
      }
    }, 60_000);
  }
});

// ---------------------------------------------------------------------------------------------
// the socket list

const HOLD = `
import socket, time
def tcp(fam, host, port, v6only=None):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((host, port)); s.listen(16); return s
keep = []
l4 = tcp(socket.AF_INET, "127.0.0.1", 7611)
l6 = tcp(socket.AF_INET6, "::1", 7612)
ld = tcp(socket.AF_INET6, "::", 7613, 0)
lo = tcp(socket.AF_INET6, "::", 7614, 1)
keep += [l4, l6, ld, lo]
for host, l in (("127.0.0.1", l4), ("127.0.0.1", l4), ("::1", l6), ("127.0.0.1", ld), ("::1", lo)):
    c = socket.create_connection((host, l.getsockname()[1])); a, _ = l.accept(); keep += [c, a]
# one connection closed by its client: a TIME-WAIT socket
c = socket.create_connection(("127.0.0.1", 7611)); a, _ = l4.accept(); c.close(); a.close()
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(("127.0.0.1", 7615))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", 7616))
uc = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); uc.connect(("::1", 7616))
ub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ub.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo"); ub.bind(("0.0.0.0", 7617))
uv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); uv.connect(("127.0.0.1", 7611))
keep += [u4, u6, uc, ub, uv]
print("ready", flush=True)
time.sleep(60)
`;

function ssList(ns: string, filter: string[], impliedState?: string): string[] {
  const ifindexOf = ifindexer(ns);
  return must(["ip", "netns", "exec", ns, "ss", "-tuanieH", ...filter]).split("\n")
    .map((l) => parseSsLine(l, ifindexOf, impliedState)).filter((r) => r !== undefined).map(showSock).sort();
}

function nlmonList(ns: string, env: Record<string, string>, sockDiag: string): string[] {
  const cfg = writeConfig(dir, `list-${ns}.yaml`, `netlink:\n  protocols: { route: false, sock_diag: true }\n  sock_diag: ${sockDiag}\n`);
  const r = runNlmon({ ns, args: ["--config", cfg, "--dump-events"], env });
  if (r.code !== 0) throw new Error(`nlmon --dump-events -> exit ${r.code}: ${r.err.trim()}`);
  return diagEvents(parseEvents(r.out.split("\n"))).map((x) => showSock(diagRec(x.b))).sort();
}

describe("nlmon --dump-events' sockets equal ss -tuanie's", () => {
  let ns = "";
  let holder: ReturnType<typeof spawnDriver> | undefined;
  beforeAll(async () => {
    ns = freshNs("sklist");
    holder = spawnDriver(["ip", "netns", "exec", ns, "python3", "-c", HOLD]);
    const i = await holder.out.waitLine((l) => l === "ready", 10_000);
    if (i < 0) throw new Error(`socket holder did not start: ${holder.err.lines.join(" / ")}`);
  });
  afterAll(async () => {
    if (!holder) return;
    holder.proc.kill("SIGKILL");
    await holder.proc.exited;
  });

  for (const b of BACKENDS) {
    test(`${b.name}: every socket, with state, addresses, device, inode and cookie`, () => {
      const tool = ssList(ns, []);
      // the set-up: 4 listeners, 5 connections (10 sockets), a TIME-WAIT, 5 UDP sockets
      expect(tool.filter((l) => l.startsWith("tcp LISTEN ")).length).toBe(4);
      expect(tool.filter((l) => l.startsWith("tcp ESTAB ")).length).toBe(10);
      expect(tool.filter((l) => l.startsWith("tcp TIME-WAIT ")).length).toBe(1);
      expect(tool.filter((l) => l.startsWith("udp ")).length).toBe(5);
      expect(nlmonList(ns, b.env, "{}")).toEqual(tool);
    }, 30_000);

    test(`${b.name}: ports: [7611] gives ss's sport = :7611 or dport = :7611`, () => {
      const tool = ssList(ns, ["sport = :7611 or dport = :7611"]);
      // the listener, 2 connections both ways, the TIME-WAIT, the UDP socket connected to 7611
      expect(tool.length).toBe(7);
      expect(nlmonList(ns, b.env, "{ ports: [7611] }")).toEqual(tool);
    }, 30_000);

    test(`${b.name}: states: [listen] gives ss's state listening`, () => {
      const tool = ssList(ns, ["state", "listening"], "LISTEN");
      expect(tool.length).toBe(4);
      expect(nlmonList(ns, b.env, "{ states: [listen] }")).toEqual(tool);
    }, 30_000);
  }
});
