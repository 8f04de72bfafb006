/**
 * Conntrack events against conntrack-tools, on both backends: TCP and UDP flows and pings in a
 * namespace whose ruleset makes conntrack track, then a flush; `conntrack -E -o extended,id` runs
 * over the same window and nlmon's conntrack events must be the same changes, event for event and
 * in the same order (event, protocol, both tuples, TCP state, id). A second case crosses a veth
 * pair into a namespace that DNATs, so the reply tuple differs from the original.
 */
import { describe, expect, test } from "bun:test";
import { BACKENDS, ip, Lines, liveFile, must, parseEvents, sleep, startNlmon, writeConfig } from "./lib.ts";
import { type CtRecord, eventRecord, parseConntrackLine, show } from "./conntrack-tool.ts";

const { dir, freshNs } = liveFile("conntrack", [["conntrack", "conntrack"], ["nft", "nftables"], ["python3", "python3"]]);

const CFG = writeConfig(dir, "ct.yaml", "netlink:\n  protocols: { route: false, netfilter: true }\n  netfilter: { nftables: false }\n");


function nft(ns: string, ...cmd: string[]) {
  must(["ip", "netns", "exec", ns, "nft", ...cmd]);
}

/** `conntrack -E` in the namespace, line-buffered into a collector */
function conntrackEvents(ns: string) {
  const proc = Bun.spawn(["ip", "netns", "exec", ns, "stdbuf", "-oL", "conntrack", "-E", "-o", "extended,id"], { stdout: "pipe", stderr: "pipe" });
  return { proc, out: new Lines(proc.stdout) };
}

/** SERVER in a namespace, once it has said it is bound */
async function startServer(ns: string, host: string, tcp: number, udp: number) {
  const proc = Bun.spawn(["ip", "netns", "exec", ns, "python3", "-c", SERVER(host, tcp, udp)], { stdout: "pipe", stderr: "ignore" });
  const out = new Lines(proc.stdout);
  if ((await out.waitLine((l) => l === "ready", 20_000)) < 0) {
    proc.kill();
    throw new Error(`test server in ${ns} did not start`);
  }
  return proc;
}

/** a TCP server answering each connection and a UDP echo, until killed */
const SERVER = (host: string, tcp: number, udp: number) => [
  "import socket, threading",
  `t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("${host}", ${tcp})); t.listen(64)`,
  `u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("${host}", ${udp}))`,
  "def tcp():",
  "    while True:",
  "        c, _ = t.accept(); c.recv(16); c.sendall(b'ok'); c.close()",
  "threading.Thread(target=tcp, daemon=True).start()",
  "print('ready', flush=True)",
  "while True:",
  "    d, a = u.recvfrom(16); u.sendto(b'ok', a)",
].join("\n");

const CLIENT = (host: string, tcp: number, udp: number, n: number) => [
  "import socket",
  `for i in range(${n}):`,
  `    c = socket.create_connection(("${host}", ${tcp})); c.sendall(b"hi"); c.recv(16); c.close()`,
  `    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2); u.sendto(b"hi", ("${host}", ${udp})); u.recvfrom(16); u.close()`,
].join("\n");

/** ICMP echo requests over a raw socket (no ping binary needed), each answered by the kernel */
const PINGS = (host: string, n: number) => [
  "import socket, struct",
  "def csum(b):",
  "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return ~s & 0xffff",
  "r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(2)",
  `for i in range(${n}):`,
  "    h = struct.pack('!BBHHH', 8, 0, 0, 0x4242 + i, 1) + b'nlmon-ping'",
  "    h = h[:2] + struct.pack('!H', csum(h)) + h[4:]",
  `    r.sendto(h, ("${host}", 0))`,
  "    while True:",
  "        d = r.recv(1500)",
  "        if d[20] == 0: break",
].join("\n");

interface Window { ns: string; act: () => Promise<void> }

const MARK_PORT = 7999;
const END_MARK_PORT = 7998;
const isMark = (dport: number | undefined) => dport === MARK_PORT || dport === END_MARK_PORT;

/**
 * Neither nlmon's "receive buffer" line nor a started `conntrack -E` proves the groups are joined
 * by the time the window opens, nor does a fixed sleep prove both have printed everything when it
 * closes (a loaded machine can take longer than any sleep): datagrams to a closed port until both
 * have printed one of them. The marks' entries are left out of both lists afterwards.
 */
async function bothListening(ns: string, ours: Lines, tool: Lines, port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    must(["ip", "netns", "exec", ns, "bash", "-c", `echo mark > /dev/udp/127.0.0.1/${port}`]);
    await sleep(200);
    if (ours.find((l) => l.includes(`"dport":${port}`)) >= 0 && tool.find((l) => l.includes(`dport=${port} `)) >= 0) return;
  }
  throw new Error(`nlmon and conntrack -E did not both see a marker flow to port ${port} within 20 s`);
}

/** nlmon and conntrack -E over the same window; returns both as records */
async function observe(b: (typeof BACKENDS)[number], w: Window) {
  const mon = startNlmon({ ns: w.ns, args: ["--config", CFG], env: b.env });
  const ct = conntrackEvents(w.ns);
  try {
    expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
    await bothListening(w.ns, mon.out, ct.out, MARK_PORT);
    await w.act();
    await sleep(1000);
    must(["ip", "netns", "exec", w.ns, "conntrack", "-F"]);
    // a mark after the flush: once both have printed it, both have printed everything before
    await bothListening(w.ns, mon.out, ct.out, END_MARK_PORT);
  } finally {
    await mon.stop();
    ct.proc.kill("SIGTERM");
    await ct.proc.exited;
    await ct.out.done;
  }
  const tool = ct.out.lines.map(parseConntrackLine).filter((r) => r !== undefined && !isMark(Number(/dport=(\d+)/.exec(r.orig)?.[1]))) as CtRecord[];
  const events = parseEvents(mon.out.lines).filter((e) => e.type === "conntrack" && !isMark(e.netlink.conntrack!.original?.dport));
  const ours = events.map(eventRecord).filter((r) => r !== undefined);
  return { tool, ours, events, stderr: mon.err.lines };
}

/** nlmon's records equal the tool's, in order; both lists are printed when they differ */
function expectSame(r: { ours: CtRecord[]; tool: CtRecord[] }) {
  const ours = r.ours.map(show);
  const tool = r.tool.map(show);
  if (JSON.stringify(ours) !== JSON.stringify(tool)) console.error(`nlmon:\n  ${ours.join("\n  ")}\nconntrack -E:\n  ${tool.join("\n  ")}`);
  expect(ours).toEqual(tool);
}

describe("conntrack events equal conntrack -E's", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: TCP and UDP flows and pings on loopback, then a flush`, async () => {
      const ns = freshNs(`ct${b.name}`);
      nft(ns, "add", "table", "inet", "track");
      nft(ns, "add", "chain", "inet", "track", "out", "{ type filter hook output priority 0; }");
      nft(ns, "add", "rule", "inet", "track", "out", "ct", "state", "new", "counter");
      const srv = await startServer(ns, "127.0.0.1", 7001, 7002);
      try {
        const r = await observe(b, {
          ns,
          act: async () => {
            must(["ip", "netns", "exec", ns, "python3", "-c", CLIENT("127.0.0.1", 7001, 7002, 10)]);
            must(["ip", "netns", "exec", ns, "python3", "-c", PINGS("127.0.0.1", 3)]);
          },
        });
        // the set-up worked: every flow of each kind was seen by the tool
        expect(r.tool.filter((x) => x.event === "new" && x.proto === "tcp").length).toBe(10);
        expect(r.tool.filter((x) => x.event === "new" && x.proto === "udp").length).toBe(10);
        expect(r.tool.filter((x) => x.event === "new" && x.proto === "icmp").length).toBe(3);
        expect(r.tool.filter((x) => x.event === "destroy").length).toBeGreaterThanOrEqual(23);
        // one event per line of the tool's, in its order: nothing lost, nothing twice (the kernel
        // may send two identical updates; the tool prints both, so the counts must agree)
        expectSame(r);
        expect(r.events.length).toBe(r.tool.length);
      } finally {
        srv.kill();
        await srv.exited;
      }
    }, 60_000);

    test(`${b.name}: NAT across a veth pair: the reply tuple is the translated one`, async () => {
      const a = freshNs(`cna${b.name}`);
      const s = freshNs(`cns${b.name}`);
      must(["ip", "link", "add", "ctv0", "netns", a, "type", "veth", "peer", "name", "ctv1", "netns", s]);
      ip(a, "addr", "add", "10.77.0.1/24", "dev", "ctv0");
      ip(s, "addr", "add", "10.77.0.2/24", "dev", "ctv1");
      ip(a, "link", "set", "ctv0", "up");
      ip(s, "link", "set", "ctv1", "up");
      nft(s, "add", "table", "ip", "nat");
      nft(s, "add", "chain", "ip", "nat", "pre", "{ type nat hook prerouting priority -100; }");
      nft(s, "add", "rule", "ip", "nat", "pre", "tcp", "dport", "7100", "dnat", "to", ":7101");
      nft(s, "add", "rule", "ip", "nat", "pre", "udp", "dport", "7200", "dnat", "to", ":7201");
      const srv = await startServer(s, "10.77.0.2", 7101, 7201);
      try {
        const r = await observe(b, {
          ns: s,
          act: async () => {
            must(["ip", "netns", "exec", a, "python3", "-c", CLIENT("10.77.0.2", 7100, 7200, 5)]);
          },
        });
        const nat = r.tool.filter((x) => x.event === "new" && x.orig.includes("dport=7100"));
        expect(nat.length).toBe(5);
        for (const x of nat) expect(x.reply).toContain("sport=7101");
        expectSame(r);
        // the translation is in the status too
        const natted = r.events.filter((e) => e.netlink.conntrack!.original?.dport === 7100);
        expect(natted.length).toBeGreaterThan(0);
        for (const e of natted) expect(e.netlink.conntrack!.status).toContain("DST_NAT");
      } finally {
        srv.kill();
        await srv.exited;
      }
    }, 60_000);
  }
});
