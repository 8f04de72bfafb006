/**
 * The pcap export checked by the tool operators will open it with: tshark must dissect every record
 * as netlink/rtnetlink with our nanosecond timestamps, and the reader must give back what was
 * written, also after editcap converted the file to pcapng.
 * Needs tshark (Debian package tshark, which brings editcap); installed here if missing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nlmonMetrics } from "../../src/metrics/registry.ts";
import { PcapExporter } from "../../src/export/pcap.ts";
import { CaptureFormatError, readCaptureFile } from "../../src/export/pcap-read.ts";
import { ensureTool } from "./lib.ts";
import {
  AF_INET, ARPHRD_LOOPBACK, IFF_UP, IFLA_IFNAME, IFLA_MTU, NETLINK_ROUTE, RTA_DST, RTA_OIF, RTM_NEWLINK, RTM_NEWROUTE,
  RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, NLM_F_MULTI,
} from "../../src/uapi/linux.gen.ts";


const enc = new TextEncoder();
function cat(...p: Uint8Array[]) {
  const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let i = 0;
  for (const x of p) {
    o.set(x, i);
    i += x.length;
  }
  return o;
}
function attr(type: number, data: Uint8Array) {
  const len = 4 + data.length;
  const b = new Uint8Array((len + 3) & ~3);
  const v = new DataView(b.buffer);
  v.setUint16(0, len, true);
  v.setUint16(2, type, true);
  b.set(data, 4);
  return b;
}
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
function nlmsg(type: number, flags: number, seq: number, body: Uint8Array) {
  const h = new Uint8Array(16);
  const v = new DataView(h.buffer);
  v.setUint32(0, 16 + body.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  return cat(h, body);
}
function newlink(ifindex: number, name: string, seq: number) {
  const ifi = new Uint8Array(16);
  const v = new DataView(ifi.buffer);
  v.setUint16(2, ARPHRD_LOOPBACK, true);
  v.setInt32(4, ifindex, true);
  v.setUint32(8, IFF_UP, true);
  return nlmsg(RTM_NEWLINK, NLM_F_MULTI, seq, cat(ifi, attr(IFLA_IFNAME, enc.encode(name + "\0")), attr(IFLA_MTU, u32(1500 + seq))));
}
function newroute(seq: number) {
  const rtm = new Uint8Array([AF_INET, 24, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0]);
  return nlmsg(RTM_NEWROUTE, 0, seq, cat(rtm, attr(RTA_DST, new Uint8Array([10, 1, seq & 0xff, 0])), attr(RTA_OIF, u32(1))));
}

const dir = mkdtempSync(join(tmpdir(), "nlmon-pcap-live-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensureTool("tshark", "tshark"), { timeout: 600_000 });

function run(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("pcap export, live", () => {
  const file = join(dir, "nl.pcap");
  const written: { tsNs: bigint; message: Uint8Array }[] = [];

  test("tshark dissects the records as rtnetlink with nanosecond times", async () => {
    const exp = new PcapExporter({ file, queue_size: 1000, rotate: { max_size: 0, keep: 0 } }, nlmonMetrics());
    await exp.start();
    for (let i = 0; i < 20; i++) {
      const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_007n;
      // a dump reply: two messages in one datagram, as the kernel batches them
      const a = newlink(i + 1, `nlm${i}`, i * 2), b = newroute(i * 2 + 1);
      exp.pushRaw(NETLINK_ROUTE, ts, cat(a, b));
      written.push({ tsNs: ts, message: a }, { tsNs: ts, message: b });
    }
    await exp.close();

    const f = run(["tshark", "-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "frame.protocols", "-e", "netlink-route.nltype", "-e", "netlink.hdr_seq", "-e", "netlink.family"]);
    expect(f.code).toBe(0);
    const rows = f.out.trim().split("\n").map((l) => l.split("|"));
    expect(rows.length).toBe(40);
    rows.forEach((r, i) => {
      const w = written[i]!;
      const sec = w.tsNs / 1_000_000_000n, ns = w.tsNs % 1_000_000_000n;
      expect(r[0]).toBe(`${sec}.${String(ns).padStart(9, "0")}`);
      expect(r[1]).toBe("netlink:netlink-route");
      expect(Number(r[2])).toBe(i % 2 ? RTM_NEWROUTE : RTM_NEWLINK);
      expect(Number(r[3])).toBe(i);
      expect(Number(r[4])).toBe(NETLINK_ROUTE);
    });
    const v = run(["tshark", "-r", file, "-V", "-c", "2"]);
    expect(v.code).toBe(0);
    expect(v.out).toContain("Linux netlink (cooked header)");
    expect(v.out).toContain("Link-layer address type: Netlink (824)");
    expect(v.out).toContain("Linux rtnetlink (route netlink) protocol");
    expect(v.out).toContain("Device name: nlm0");
    expect(v.out).not.toMatch(/Malformed|Expert Info \(Error/);
  });

  test("the reader returns what was written, from pcap and from editcap's pcapng", async () => {
    const back = [];
    for await (const m of readCaptureFile(file)) back.push({ tsNs: m.tsNs, message: m.message, protocol: m.protocol });
    expect(back).toEqual(written.map((w) => ({ ...w, protocol: NETLINK_ROUTE })));

    const ng = join(dir, "nl.pcapng");
    expect(run(["editcap", "-F", "pcapng", file, ng]).code).toBe(0);
    const fromNg = [];
    for await (const m of readCaptureFile(ng)) fromNg.push({ tsNs: m.tsNs, message: m.message, protocol: m.protocol });
    expect(fromNg).toEqual(back);
  });

  test("a truncated file gives an offset error", async () => {
    const buf = readFileSync(file);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, buf.subarray(0, buf.length - 5));
    let err: unknown;
    try {
      for await (const _ of readCaptureFile(cut)) void _;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as Error).message).toMatch(/truncated pcap record data .* at byte offset \d+/);
    // tshark agrees the file is cut short
    expect(run(["tshark", "-r", cut]).err).toMatch(/cut short|truncated/i);
  });
});
