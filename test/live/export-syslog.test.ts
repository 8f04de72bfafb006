/**
 * The syslog export against a real rsyslogd: a private unix datagram socket (imuxsock with its own
 * path, the system socket off), UDP and TCP on loopback ports, everything received written to a
 * file with the fields rsyslog parsed. Both RFC formats must parse into the right fields, events
 * longer than the limit arrive cut by whole fields as JSON that rsyslog's own parser (mmjsonparse)
 * accepts, and a TCP collector that is killed and restarted is reconnected to. Needs rsyslog (Debian package rsyslog); installed here if missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { NlEvent, PipelineEvent } from "../../src/event/model.ts";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { SyslogExporter, type SyslogExportOptions } from "../../src/export/syslog.ts";
import { contextWithLinks, decodeAll, fixtureNames } from "../fixtures/load.ts";
import { ensureTool } from "./lib.ts";
import { rsyslogConfig } from "./collectors.ts";


const dir = mkdtempSync(join(tmpdir(), "nlmon-syslog-"));
const sockPath = join(dir, "log.sock");
const outFile = join(dir, "out.log");
const conf = join(dir, "rsyslog.conf");
let udpPort = 0;
let tcpPort = 0;
let rsyslog: Subprocess | undefined;
const exporters: SyslogExporter[] = [];

async function freeTcpPort() {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = l.port;
  l.stop(true);
  return p;
}
async function freeUdpPort() {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const p = s.port;
  s.close();
  return p;
}

async function tcpAccepts(port: number) {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

async function startRsyslog() {
  const bin = Bun.which("rsyslogd", { PATH: "/usr/sbin:/sbin:/usr/bin" })!;
  rsyslog = Bun.spawn([bin, "-n", "-f", conf, "-i", join(dir, "rsyslog.pid")], { stdout: "ignore", stderr: "pipe" });
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    if (existsSync(sockPath) && (await tcpAccepts(tcpPort))) return;
    if (rsyslog.exitCode !== null) break;
    await Bun.sleep(50);
  }
  const err = rsyslog.stderr instanceof ReadableStream ? await new Response(rsyslog.stderr).text() : "";
  throw new Error(`rsyslogd did not come up: ${err}`);
}

async function stopRsyslog(signal: NodeJS.Signals = "SIGTERM") {
  const p = rsyslog;
  rsyslog = undefined;
  if (!p) return;
  p.kill(signal);
  await p.exited;
}

interface Received {
  input: string;
  pri: number;
  facility: string;
  severity: number;
  time: string;
  host: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  /** rsyslog's mmjsonparse on the message: OK or FAIL */
  json: string;
  /** fields as mmjsonparse found them */
  jsonTruncated: string;
  jsonType: string;
  jsonMsgTypeName: string;
  msg: string;
}

function received(): Received[] {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, "utf8").split("\n").filter(Boolean).map((l) => {
    const f = l.split("|");
    return {
      input: f[0]!, pri: Number(f[1]), facility: f[2]!, severity: Number(f[3]), time: f[4]!, host: f[5]!, app: f[6]!,
      procid: f[7]!, msgid: f[8]!, sd: f[9]!, json: f[10]!, jsonTruncated: f[11]!, jsonType: f[12]!, jsonMsgTypeName: f[13]!,
      msg: f.slice(14).join("|").trim(),
    };
  });
}

/** messages of one test case, told apart by the marker the case puts into the event */
async function waitFor(tag: string, n: number, ms = 10_000): Promise<Received[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = received().filter((r) => r.msg.includes(`"${tag}"`));
    if (got.length >= n || Date.now() > end) return got;
    await Bun.sleep(50);
  }
}

/** every message of one case: its events carry `"timestamp":"TAG-i"` */
async function waitForAll(tag: string, n: number, ms = 10_000): Promise<Received[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = received().filter((r) => r.msg.includes(`"timestamp":"${tag}-`));
    if (got.length >= n || Date.now() > end) return got;
    await Bun.sleep(50);
  }
}

/** real decoded events of every kind, and a few longer than any limit below */
const cutEvents = (() => {
  const ctx = contextWithLinks();
  const evs: NlEvent[] = [];
  for (const f of fixtureNames()) for (const d of decodeAll(f, ctx)) if (d.ev) evs.push(d.ev);
  const link = evs.find((x) => x.netlink.link?.ifname)!;
  const mp = evs.find((x) => (x.netlink.route?.nexthops?.length ?? 0) > 1)!;
  evs.push({ ...link, netlink: { ...link.netlink, link: { ...link.netlink.link!, ifalias: "uplink → é ✓ 🚀 ".repeat(60) } } });
  evs.push({ ...mp, implicit: true, netlink: { ...mp.netlink, route: { ...mp.netlink.route!, nexthops: Array(50).fill(mp.netlink.route!.nexthops![0]) } } });
  return evs;
})();

function pev(tag: string, i: number, over: Partial<PipelineEvent["event"]["netlink"]> = {}): PipelineEvent {
  return {
    event: {
      type: "route", protocol: 0, msg_type: 25,
      netlink: { protocol: 0, protocol_name: "NETLINK_ROUTE", msg_type: 25, msg_type_name: "RTM_DELROUTE", msg_flags: 0, seq: i, raw: tag, ...over },
    },
    tsNs: BigInt(Date.now()) * 1_000_000n + 456_789n,
    recvMono: 0,
  };
}

function exporter(o: Partial<SyslogExportOptions>, metrics = nlmonMetrics()) {
  const e = new SyslogExporter({
    transport: "unix", path: sockPath, host: "127.0.0.1", port: 0, format: "rfc5424", facility: "local3",
    app_name: "nlmon", max_message_size: 4096, queue_size: 1000, ...o,
  }, metrics);
  exporters.push(e);
  return e;
}

beforeAll(async () => {
  ensureTool("rsyslogd", "rsyslog");
  udpPort = await freeUdpPort();
  tcpPort = await freeTcpPort();
  writeFileSync(conf, rsyslogConfig({
    dir, socket: sockPath, udpPort, tcpPort, out: outFile, parseJson: true,
    fields: "%inputname%|%pri%|%syslogfacility-text%|%syslogseverity%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%" +
      "|%$.json%|%$!truncated%|%$!type%|%$!netlink!msg_type_name%|%msg%",
  }));
  await startRsyslog();
}, { timeout: 600_000 });

afterAll(async () => {
  for (const e of exporters) await e.close().catch(() => {});
  await stopRsyslog("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const local3 = 19;
const notice = 5;

for (const transport of ["unix", "udp", "tcp"] as const) {
  describe(`syslog over ${transport}`, () => {
    const port = () => (transport === "udp" ? udpPort : tcpPort);
    const input = { unix: "imuxsock", udp: "imudp", tcp: "imtcp" }[transport];

    test("RFC 5424: every header field arrives where rsyslog expects it", async () => {
      const tag = `${transport}-5424`;
      const e = exporter({ transport, port: port(), format: "rfc5424" });
      await e.start();
      const sent = Array.from({ length: 5 }, (_, i) => pev(tag, i));
      for (const ev of sent) e.push(ev, JSON.stringify(ev.event));
      const got = await waitFor(tag, 5);
      expect(got.length).toBe(5);
      got.forEach((r, i) => {
        expect(r.input).toBe(input);
        expect(r.pri).toBe(local3 * 8 + notice);
        expect(r.facility).toBe("local3");
        expect(r.severity).toBe(notice);
        expect(r.app).toBe("nlmon");
        expect(r.procid).toBe(String(process.pid));
        expect(r.msgid).toBe("route");
        expect(r.sd).toBe("-");
        expect(r.host).toBe(hostname());
        // microseconds survive: the event time, not rsyslog's receive time
        expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}456/);
        expect(JSON.parse(r.msg)).toEqual(sent[i]!.event);
      });
    });

    test("RFC 3164: tag and pid parsed, message intact", async () => {
      const tag = `${transport}-3164`;
      const e = exporter({ transport, port: port(), format: "rfc3164", facility: "daemon" });
      await e.start();
      const sent = Array.from({ length: 5 }, (_, i) => pev(tag, i, { msg_type_name: "RTM_NEWROUTE" }));
      for (const ev of sent) e.push(ev, JSON.stringify(ev.event));
      const got = await waitFor(tag, 5);
      expect(got.length).toBe(5);
      got.forEach((r, i) => {
        expect(r.input).toBe(input);
        expect(r.pri).toBe(3 * 8 + 6);
        expect(r.app).toBe("nlmon");
        expect(r.procid).toBe(String(process.pid));
        expect(r.host).toBe(hostname().split(".")[0]!);
        const t = new Date(r.time).getTime();
        expect(Math.abs(t - Date.now())).toBeLessThan(60_000);
        expect(JSON.parse(r.msg)).toEqual(sent[i]!.event);
      });
    });

    for (const format of transport === "unix" ? ["rfc5424", "rfc3164"] as const : ["rfc5424"] as const) {
      test(`${format}: over-long events arrive cut by whole fields, as JSON rsyslog parses, marked truncated`, async () => {
        for (const max of [480, 600, 1000, 2048]) {
          const tag = `${transport}-${format}-cut-${max}`;
          const e = exporter({ transport, port: port(), format, max_message_size: max });
          await e.start();
          // the tag rides in the timestamp, a field truncation always keeps (decoded events hold its key first)
          const sent = cutEvents.map((ev, i) => ({ ...ev, timestamp: `${tag}-${i}` }));
          for (const ev of sent) e.push({ event: ev, tsNs: BigInt(Date.now()) * 1_000_000n, recvMono: 0 }, JSON.stringify(ev));
          const got = await waitForAll(tag, sent.length);
          expect(got.length).toBe(sent.length);
          let cut = 0;
          for (const r of got) {
            const orig = sent.find((ev) => r.msg.includes(`"timestamp":"${ev.timestamp}"`))!;
            expect(r.json).toBe("OK");
            expect(r.jsonType).toBe(orig.type);
            expect(r.jsonMsgTypeName).toBe(orig.netlink.msg_type_name);
            const whole = JSON.stringify(orig);
            if (r.msg === whole) {
              expect(r.jsonTruncated).toBe("");
            } else {
              cut++;
              expect(r.jsonTruncated).toBe("true");
              expect(Buffer.byteLength(r.msg)).toBeLessThan(max);
              expect(Buffer.byteLength(r.msg)).toBeLessThan(Buffer.byteLength(whole));
            }
          }
          // each limit cuts some and leaves some whole: both paths reached rsyslog
          expect(cut).toBeGreaterThan(0);
          if (max < 2048) expect(cut).toBeLessThan(sent.length);
        }
      }, 60_000);
    }
  });
}

describe("collector outages", () => {
  test("unix socket missing: counted, the message kept for the retry", async () => {
    const m = nlmonMetrics();
    const e = exporter({ transport: "unix", path: join(dir, "later.sock") }, m);
    await e.start();
    e.push(pev("unix-missing", 1), JSON.stringify(pev("unix-missing", 1).event));
    await Bun.sleep(300);
    expect(m.exportErrors.get({ export: "syslog" })).toBeGreaterThan(0);
    expect(e.queued).toBe(1);
  });

  test("TCP collector killed and restarted: the export reconnects", async () => {
    const m = nlmonMetrics();
    const e = exporter({ transport: "tcp", port: tcpPort, format: "rfc5424" }, m);
    await e.start();
    const send = (tag: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const ev = pev(tag, i);
        e.push(ev, JSON.stringify(ev.event));
      }
    };
    send("tcp-before", 10);
    expect((await waitFor("tcp-before", 10)).length).toBe(10);
    expect(e.connected).toBe(true);

    await stopRsyslog("SIGKILL");
    // the first writes after the peer died may vanish into the dead connection; the rest queue
    send("tcp-during", 10);
    await Bun.sleep(1500);
    expect(e.connected).toBe(false);
    expect(m.exportErrors.get({ export: "syslog" })).toBeGreaterThan(0);

    await startRsyslog();
    send("tcp-after", 10);
    expect((await waitFor("tcp-after", 10, 40_000)).length).toBe(10);
    expect(e.connected).toBe(true);
  }, 60_000);
});
