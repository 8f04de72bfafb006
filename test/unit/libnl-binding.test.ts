/**
 * The libnl binding against the real kernel and Debian's libnl-3 (root required).
 * Notification tests run in a child process inside a fresh network namespace so that route changes
 * neither touch nor race with the host; the namespace is deleted whatever happens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LibnlError,
  LibnlSocket,
  genlResolve,
  genlResolveGroup,
  isOverrun,
  loadLibnl,
  nlMsgHeaderOffset,
  type LibnlHandle,
} from "../../src/backend/libnl/binding.ts";
import { koffi } from "../../src/ffi/koffi.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const BINDING = join(ROOT, "src/backend/libnl/binding.ts");
const GENERATED = join(ROOT, "src/uapi/linux.gen.ts");

/** constants the tests need, by their kernel/libc names */
const NAMES = [
  "NETLINK_ROUTE",
  "RTNLGRP_IPV4_ROUTE",
  "RTNLGRP_NEXTHOP",
  "RTNLGRP_STATS",
  "RTM_GETLINK",
  "RTM_NEWLINK",
  "RTM_NEWROUTE",
  "RTM_NEWNEXTHOP",
  "NLM_F_REQUEST",
  "NLM_F_DUMP",
  "NLMSG_DONE",
  "NLMSG_ERROR",
  "IFLA_IFNAME",
  "SOL_NETLINK",
  "NETLINK_LIST_MEMBERSHIPS",
  "GENL_ID_CTRL",
  "IFINFOMSG_SIZE",
  "NLMSGHDR_SIZE",
  "ENOBUFS",
  "ENODEV",
  "IFINFOMSG_INDEX_OFFSET",
] as const;
type Consts = Record<(typeof NAMES)[number], number>;

const C_SOURCE = `
#include <stdio.h>
#include <errno.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/genetlink.h>
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#include <stddef.h>
#define P(n) printf("\\"%s\\":%ld,", #n, (long)(n))
int main(void) {
  printf("{");
  P(NETLINK_ROUTE); P(RTNLGRP_IPV4_ROUTE); P(RTNLGRP_NEXTHOP); P(RTNLGRP_STATS);
  P(RTM_GETLINK); P(RTM_NEWLINK); P(RTM_NEWROUTE); P(RTM_NEWNEXTHOP);
  P(NLM_F_REQUEST); P(NLM_F_DUMP); P(NLMSG_DONE); P(NLMSG_ERROR); P(IFLA_IFNAME);
  P(SOL_NETLINK); P(NETLINK_LIST_MEMBERSHIPS); P(GENL_ID_CTRL); P(ENOBUFS); P(ENODEV);
  printf("\\"IFINFOMSG_INDEX_OFFSET\\":%zu,", offsetof(struct ifinfomsg, ifi_index));
  printf("\\"IFINFOMSG_SIZE\\":%zu,\\"NLMSGHDR_SIZE\\":%zu}", sizeof(struct ifinfomsg), sizeof(struct nlmsghdr));
  return 0;
}
`;

/**
 * Kernel numbers come from the generated uapi table when it exists, and from the system headers via
 * a throwaway C program for whatever it lacks (it has no sizeof or libc values).
 */
async function constants(dir: string): Promise<Consts> {
  const src = join(dir, "consts.c");
  const exe = join(dir, "consts");
  writeFileSync(src, C_SOURCE);
  const cc = Bun.spawnSync(["cc", "-o", exe, src]);
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  const fromC = JSON.parse(Bun.spawnSync([exe]).stdout.toString()) as Record<string, number>;
  let gen: Record<string, unknown> = {};
  if (existsSync(GENERATED)) gen = (await import(GENERATED as string)) as Record<string, unknown>;
  const out = {} as Consts;
  for (const n of NAMES) {
    const g = gen[n];
    const v = typeof g === "number" ? g : fromC[n];
    if (typeof v !== "number") throw new Error(`no value for ${n}`);
    out[n] = v;
  }
  return out;
}

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Msg {
  type: number;
  seq: number;
  body: Uint8Array;
}

function messages(d: Uint8Array, hdrSize: number): Msg[] {
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: Msg[] = [];
  let off = 0;
  while (off + hdrSize <= d.length) {
    const len = dv.getUint32(off, LE);
    if (len < hdrSize || off + len > d.length) break;
    out.push({ type: dv.getUint16(off + 4, LE), seq: dv.getUint32(off + 8, LE), body: d.subarray(off + hdrSize, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

/** IFLA_IFNAME of an RTM_NEWLINK body */
function ifname(body: Uint8Array, c: Consts): string | undefined {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let off = c.IFINFOMSG_SIZE;
  while (off + 4 <= body.length) {
    const len = dv.getUint16(off, LE);
    const type = dv.getUint16(off + 2, LE);
    if (len < 4) break;
    if (type === c.IFLA_IFNAME) {
      const raw = body.subarray(off + 4, off + len);
      const nul = raw.indexOf(0);
      return new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw);
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** one datagram as its own copy (64 KiB is above what the kernel builds), or null when none is queued */
function recv(s: LibnlSocket): Uint8Array | null {
  const b = new Uint8Array(65536);
  const n = s.recvInto(b);
  return n ? b.slice(0, Math.min(n, b.length)) : null;
}

/** receives a dump until NLMSG_DONE (of `seq`, when given) and returns the interface names */
function collectLinks(sock: LibnlSocket, c: Consts, seq?: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    expect(sock.waitReadable(5000)).toBe(true);
    const d = recv(sock);
    if (!d) continue;
    for (const m of messages(d, c.NLMSGHDR_SIZE)) {
      if (seq !== undefined && m.seq !== seq) continue;
      if (m.type === c.NLMSG_DONE) return names;
      if (m.type === c.NLMSG_ERROR) throw new Error("dump answered with NLMSG_ERROR");
      if (m.type === c.RTM_NEWLINK) {
        const n = ifname(m.body, c);
        if (n) names.push(n);
      }
    }
  }
  throw new Error("no NLMSG_DONE");
}

/** an RTM_GETLINK dump request built by hand, with a sequence number libnl did not choose */
function linkDumpRequest(c: Consts, seq: number): Uint8Array {
  const len = c.NLMSGHDR_SIZE + c.IFINFOMSG_SIZE;
  const req = new Uint8Array(len);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, len, LE);
  dv.setUint16(4, c.RTM_GETLINK, LE);
  dv.setUint16(6, c.NLM_F_REQUEST | c.NLM_F_DUMP, LE);
  dv.setUint32(8, seq, LE);
  return req;
}

/** a connected, non-blocking request socket that keeps libnl's sequence check, closed afterwards */
function withRequestSocket(f: (s: LibnlSocket) => void) {
  const s = new LibnlSocket(lib, C.NETLINK_ROUTE, { checkSeq: true });
  try {
    s.connect();
    s.setNonblocking();
    f(s);
  } finally {
    s.close();
  }
}

let dir = "";
let C: Consts;
let lib: LibnlHandle;
const NS = `nlmon-libnl-${process.pid}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nlmon-libnl-"));
  C = await constants(dir);
  lib = loadLibnl({}).lib;
});

afterAll(() => {
  Bun.spawnSync(["ip", "netns", "del", NS]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("loadLibnl", () => {
  test("finds Debian's libnl-3 pair and reads error codes from it", () => {
    const { lib: l, tried } = loadLibnl({});
    expect(l.files).toEqual(["libnl-3.so.200", "libnl-genl-3.so.200"]);
    expect(tried).toContain("libnl-tiny.so");
    expect(tried.indexOf("libnl-tiny.so")).toBeLessThan(tried.indexOf("libnl-3.so.200"));
    expect(l.geterror(-l.nle.NOMEM)).toBe("Out of memory");
    expect(l.geterror(l.nle.AGAIN)).toBe("Try again");
    expect(l.nle.AGAIN).not.toBe(l.nle.NOMEM);
  });

  test("an explicit libnl-3 path finds its genl sibling", () => {
    const path = "/usr/lib/x86_64-linux-gnu/libnl-3.so.200";
    if (!existsSync(path)) return;
    const { lib: l } = loadLibnl({ library: path });
    expect(l.files).toEqual([path, "/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200"]);
  });

  test("a missing library names every file tried and the packages to install", () => {
    const missing = join(dir, "no-such-dir", "libnl-3.so.200");
    let err: Error | undefined;
    try {
      loadLibnl({ library: missing });
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(missing);
    expect(err!.message).toContain("libnl-3-200");
    expect(err!.message).toContain("libnl-genl-3-200");
    expect(err!.message).toContain("libnl-tiny");
  });
});

describe("LibnlSocket on NETLINK_ROUTE", () => {
  test("fd from struct offset is a live socket; buffer size is set and reported", () => {
    const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
    try {
      expect(s.fd).toBe(-1);
      s.connect();
      expect(s.fd).toBeGreaterThan(2);
      expect(existsSync(`/proc/self/fd/${s.fd}`)).toBe(true);
      const want = 8 << 20;
      const sizes = s.setBufferSize(want, 1 << 20);
      // the kernel books twice the requested size; as root SO_RCVBUFFORCE gets past rmem_max
      expect(sizes.rcvbuf).toBeGreaterThanOrEqual(want);
      expect(sizes.sndbuf).toBeGreaterThan(0);
    } finally {
      s.close();
    }
    expect(s.fd).toBe(-1);
    s.close();
  });

  test("RTM_GETLINK dump via nl_send_simple lists lo, and poll() sees the reply", () => {
    const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
    try {
      s.connect();
      s.setNonblocking();
      expect(recv(s)).toBeNull();
      expect(s.waitReadable(0)).toBe(false);
      const sent = s.sendSimple(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, new Uint8Array(C.IFINFOMSG_SIZE));
      expect(sent).toBe(C.NLMSGHDR_SIZE + C.IFINFOMSG_SIZE);
      expect(s.waitReadable(2000)).toBe(true);
      expect(collectLinks(s, C)).toContain("lo");
    } finally {
      s.close();
    }
  });

  test("recvReplies: libnl's receive loop takes a dump to NLMSG_DONE, checking sequence numbers", () => {
    withRequestSocket((s) => {
      const links = () => {
        s.sendSimple(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, new Uint8Array(C.IFINFOMSG_SIZE));
        const r = s.recvReplies(5000);
        expect(r.error).toBeUndefined();
        expect(r.refused).toBe(false);
        const msgs = r.messages.flatMap((m) => messages(m, C.NLMSGHDR_SIZE));
        // whole messages packed as a datagram would hold them: the links, then the NLMSG_DONE that ended them
        expect(r.messages.reduce((n, d) => n + d.length, 0)).toBe(msgs.reduce((n, m) => n + ((m.body.length + C.NLMSGHDR_SIZE + 3) & ~3), 0));
        expect(msgs[msgs.length - 1]!.type).toBe(C.NLMSG_DONE);
        expect(msgs.slice(0, -1).every((m) => m.type === C.RTM_NEWLINK)).toBe(true);
        return msgs.slice(0, -1).map((m) => ifname(m.body, C));
      };
      const first = links();
      expect(first).toContain("lo");
      // a second request on the same socket: libnl's expected sequence number moved on with it
      expect(links()).toEqual(first);
      // and the kernel says the same when read datagram by datagram
      s.sendSimple(C.RTM_GETLINK, C.NLM_F_REQUEST | C.NLM_F_DUMP, new Uint8Array(C.IFINFOMSG_SIZE));
      expect(collectLinks(s, C)).toEqual(first as string[]);
    });
  });

  test("recvReplies: a request the kernel refuses ends with its NLMSG_ERROR", () => {
    withRequestSocket((s) => {
      const body = new Uint8Array(C.IFINFOMSG_SIZE);
      new DataView(body.buffer).setInt32(C.IFINFOMSG_INDEX_OFFSET, 0x7ffffff0, LE);
      s.sendSimple(C.RTM_GETLINK, C.NLM_F_REQUEST, body);
      const r = s.recvReplies(5000);
      expect(r.error).toBeUndefined();
      expect(r.refused).toBe(true);
      const last = r.messages.flatMap((m) => messages(m, C.NLMSGHDR_SIZE)).pop()!;
      expect(last.type).toBe(C.NLMSG_ERROR);
      expect(new DataView(last.body.buffer, last.body.byteOffset).getInt32(0, LE)).toBe(-C.ENODEV);
    });
  });

  test("recvReplies: a reply whose sequence number libnl did not hand out is rejected by libnl", () => {
    withRequestSocket((s) => {
      s.sendRaw(linkDumpRequest(C, 7));
      const r = s.recvReplies(5000);
      expect(r.error).toMatch(/sequence/i);
      expect(r.messages).toEqual([]);
    });
  });

  test("struct nl_msg's header pointer is where the binding reads it (libnl-3's nlmsg_hdr agrees)", () => {
    const k = koffi();
    const l3 = k.load("libnl-3.so.200");
    // test only: nlmsg_hdr is a static inline in libnl-tiny, which is why the binding reads the field
    const alloc = l3.func("void *nlmsg_alloc_simple(int type, int flags)");
    const hdr = l3.func("void *nlmsg_hdr(void *msg)");
    const free = l3.func("void nlmsg_free(void *msg)");
    const m = alloc(C.RTM_GETLINK, C.NLM_F_REQUEST);
    try {
      const read = k.decode(m, nlMsgHeaderOffset(k.sizeof("void *")), "void *");
      expect(k.address(read)).toBe(k.address(hdr(m)));
      expect(k.decode(read, 4, "uint16_t")).toBe(C.RTM_GETLINK);
    } finally {
      free(m);
    }
  });

  test("sendRaw sends a caller-built request unchanged", () => {
    const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
    try {
      s.connect();
      const seq = 0x4e4c4d;
      expect(s.sendRaw(linkDumpRequest(C, seq))).toBe(C.NLMSGHDR_SIZE + C.IFINFOMSG_SIZE);
      expect(collectLinks(s, C, seq)).toContain("lo");
    } finally {
      s.close();
    }
  });

  test("operations on a closed socket throw instead of touching freed memory", () => {
    const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
    s.connect();
    s.close();
    expect(() => recv(s)).toThrow(/closed/);
  });

  test("joining group 0 is refused before reaching libnl (it would end the list)", () => {
    const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
    try {
      s.connect();
      expect(() => s.addMemberships([0])).toThrow(RangeError);
    } finally {
      s.close();
    }
  });
});

describe("generic netlink", () => {
  test("genl_ctrl_resolve and genl_ctrl_resolve_grp on nlctrl", () => {
    const g = new LibnlSocket(lib, "generic");
    try {
      g.connect();
      expect(genlResolve(g, "nlctrl")).toBe(C.GENL_ID_CTRL);
      expect(genlResolveGroup(g, "nlctrl", "notify")).toBeGreaterThan(0);
      let err: unknown;
      try {
        genlResolve(g, "nlmon-no-such-family");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LibnlError);
      expect((err as LibnlError).code).toBeLessThan(0);
      expect((err as LibnlError).text.length).toBeGreaterThan(0);
      expect(isOverrun(err)).toBe(false);
    } finally {
      g.close();
    }
  });
});

/**
 * Runs inside the namespace. Prints one JSON object: what it joined, what it saw, and how the
 * overrun surfaced.
 */
const CHILD = `
import { LibnlSocket, loadLibnl, isOverrun, LibnlError } from ${JSON.stringify(BINDING)};
const C = JSON.parse(process.env.NLTEST_CONSTS);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ip = (...a) => { const r = Bun.spawnSync(["ip", ...a]); if (r.exitCode !== 0) throw new Error("ip " + a.join(" ") + ": " + r.stderr); };
const { lib } = loadLibnl({});
const out = {};
${recv.toString()}

const s = new LibnlSocket(lib, C.NETLINK_ROUTE);
s.connect();
s.setBufferSize(1 << 20, 0);
const groups = [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_NEXTHOP, C.RTNLGRP_STATS];
s.addMemberships(groups);
const words = new Uint32Array(8), len = new Uint32Array([words.byteLength]);
if (lib.libc.getsockopt(s.fd, C.SOL_NETLINK, C.NETLINK_LIST_MEMBERSHIPS, words, len) !== 0) throw new Error("LIST_MEMBERSHIPS");
out.memberships = [];
for (let g = 1; g <= 8 * len[0]; g++) if (words[(g - 1) >> 5] & (1 << ((g - 1) & 31))) out.memberships.push(g);
out.readableBefore = s.waitReadable(0);
ip("link", "set", "lo", "up");
ip("route", "add", "192.0.2.0/24", "dev", "lo", "table", "10");
ip("nexthop", "add", "id", "7", "dev", "lo");
out.readableAfter = s.waitReadable(2000);
s.setNonblocking();
out.seen = [];
const deadline = Date.now() + 3000;
let route = false, nexthop = false;
while (Date.now() < deadline && !(route && nexthop)) {
  if (!s.waitReadable(200)) continue;
  for (let d = recv(s); d; d = recv(s)) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (let off = 0; off + C.NLMSGHDR_SIZE <= d.length; ) {
      const l = dv.getUint32(off, LE), type = dv.getUint16(off + 4, LE);
      if (l < C.NLMSGHDR_SIZE) break;
      const table = type === C.RTM_NEWROUTE ? d[off + C.NLMSGHDR_SIZE + 4] : undefined;
      out.seen.push({ type, table });
      if (type === C.RTM_NEWROUTE && table === 10) route = true;
      if (type === C.RTM_NEWNEXTHOP) nexthop = true;
      off += (l + 3) & ~3;
    }
  }
}
s.close();

// a tiny receive queue and a burst nobody reads: the kernel must report ENOBUFS
const o = new LibnlSocket(lib, C.NETLINK_ROUTE);
o.connect();
out.smallRcvbuf = o.setBufferSize(1, 0).rcvbuf;
o.addMemberships([C.RTNLGRP_IPV4_ROUTE]);
o.setNonblocking();
let batch = "";
for (let i = 0; i < 2000; i++) batch += "route add 198.18." + (i >> 8) + "." + (i & 255) + "/32 dev lo table 11\\n";
const b = Bun.spawnSync(["ip", "-batch", "-"], { stdin: new TextEncoder().encode(batch) });
if (b.exitCode !== 0) throw new Error("ip -batch: " + b.stderr);
out.pollAfterBurst = o.waitReadable(1000);
out.before = 0;
for (;;) {
  try {
    const d = recv(o);
    if (!d) { out.overrun = null; break; }
    out.before++;
  } catch (e) {
    out.overrun = { isOverrun: isOverrun(e), isLibnlError: e instanceof LibnlError, code: e.code, op: e.op, text: e.text, errno: e.errno, nomem: lib.nle.NOMEM };
    break;
  }
}
// after the error the socket keeps working
let after = 0;
for (let d = recv(o); d; d = recv(o)) after++;
out.after = after;
o.close();
console.log(JSON.stringify(out));
`;

describe("notifications in a fresh network namespace", () => {
  test(
    "route and nexthop notifications arrive; a group above 32 is joined; overrun is recognised",
    () => {
      Bun.spawnSync(["ip", "netns", "del", NS]);
      const add = Bun.spawnSync(["ip", "netns", "add", NS]);
      expect(add.exitCode).toBe(0);
      try {
        const script = join(dir, "child.ts");
        writeFileSync(script, CHILD);
        const r = Bun.spawnSync(["ip", "netns", "exec", NS, BUN, script], {
          env: { ...process.env, NLTEST_CONSTS: JSON.stringify(C) },
          timeout: 30_000,
        });
        if (r.exitCode !== 0) throw new Error(`child failed (${r.exitCode}): ${r.stderr.toString()}`);
        const out = JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as {
          memberships: number[];
          readableBefore: boolean;
          readableAfter: boolean;
          seen: { type: number; table?: number }[];
          smallRcvbuf: number;
          pollAfterBurst: boolean;
          before: number;
          overrun: null | {
            isOverrun: boolean;
            isLibnlError: boolean;
            code: number;
            op: string;
            text: string;
            errno: number;
            nomem: number;
          };
          after: number;
        };
        expect(C.RTNLGRP_STATS).toBeGreaterThan(32);
        expect(out.memberships).toEqual([C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_NEXTHOP, C.RTNLGRP_STATS].sort((a, b) => a - b));
        expect(out.readableBefore).toBe(false);
        expect(out.readableAfter).toBe(true);
        expect(out.seen).toContainEqual({ type: C.RTM_NEWROUTE, table: 10 });
        expect(out.seen.some((m) => m.type === C.RTM_NEWNEXTHOP)).toBe(true);

        expect(out.pollAfterBurst).toBe(true);
        expect(out.overrun).not.toBeNull();
        const o = out.overrun!;
        expect(o.isLibnlError).toBe(true);
        expect(o.op).toBe("nl_recv");
        expect(o.code).toBe(-o.nomem);
        expect(o.text).toBe("Out of memory");
        expect(o.errno).toBe(C.ENOBUFS);
        expect(o.isOverrun).toBe(true);
      } finally {
        Bun.spawnSync(["ip", "netns", "del", NS]);
      }
    },
    60_000,
  );
});
