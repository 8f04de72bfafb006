/**
 * Generic netlink families on this kernel, on both backends, checked against the tools and the
 * kernel's own state rather than nlmon's output alone:
 * - ethtool's `monitor` group, typed by the kernel's policy: `ethtool -K` on a veth gives an event
 *   whose nested header names the device and its ifindex as `ip -j link` reports them;
 * - taskstats: a process that exits arrives as an exit record with its pid, its command name and
 *   its parent's pid;
 * - mptcp_pm's event group: an MPTCP connection on loopback gives events whose attributes are
 *   read by shape (its commands' policies do not describe its events), each with its number.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GenlAttrModel, NlEvent } from "../../src/event/model.ts";
import { BACKENDS, BIN, delNs, run, ensureBinary, ensureLibnl, ensureTool, EventStream, ip, must, nsName, startNlmon, tempDir } from "./lib.ts";

const dir = tempDir("genlfam");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  ensureTool("ethtool", "ethtool");
  ensureTool("python3", "python3");
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string, families: string[]): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, `netlink:\n  protocols: { route: false, generic: true }\n  generic_families: [${families.join(", ")}]\n`);
  return p;
}

/** every attribute in a tree of them, depth first */
function* walk(attrs: readonly GenlAttrModel[] | undefined): Generator<GenlAttrModel> {
  for (const a of attrs ?? []) {
    yield a;
    if (Array.isArray(a.value)) yield* walk(a.value as GenlAttrModel[]);
  }
}

/** one MPTCP connection on loopback in `ns`, opened and closed (IPPROTO_MPTCP is 262) */
function mptcpConnection(ns: string) {
  must(["ip", "netns", "exec", ns, "python3", "-c", [
    "import socket,threading",
    "s=socket.socket(socket.AF_INET,socket.SOCK_STREAM,262); s.bind(('127.0.0.1',5555)); s.listen()",
    "def srv():\n  c,_=s.accept(); c.recv(10); c.close()",
    "t=threading.Thread(target=srv); t.start()",
    "c=socket.socket(socket.AF_INET,socket.SOCK_STREAM,262); c.connect(('127.0.0.1',5555)); c.send(b'hi'); t.join(); c.close(); s.close()",
  ].join("\n")]);
}

/** a namespace of the test's, with lo up and a veth pair whose v0 is up */
function vethNs(ns: string) {
  made.push(ns);
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
  ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
  ip(ns, "link", "set", "v0", "up");
}

describe("generic netlink families", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: ethtool's monitor group, typed by the kernel's policy`, async () => {
      const ns = nsName(`et${b.name}`);
      vethNs(ns);
      const ifindex = (JSON.parse(ip(ns, "-j", "link", "show", "v0")) as { ifindex: number }[])[0]!.ifindex;
      const mon = startNlmon({ ns, args: ["--config", config(`et-${b.name}`, ["ethtool"])], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        const from = ev.cursor();
        must(["ip", "netns", "exec", ns, "ethtool", "-K", "v0", "tx", "off"]);
        const e = await ev.waitFor("an ethtool notification", (x) => x.netlink.genl_family_name === "ethtool", from, 5_000);
        const top = e.netlink.genl!.attrs!;
        // the request header: a nest the policy describes, holding the device's index and name
        const header = top.find((a) => a.kind === "nested")!;
        expect(header).toBeDefined();
        const inner = [...walk(header.value as GenlAttrModel[])];
        expect(inner.find((a) => a.kind === "nul_string" || a.kind === "string")?.value).toBe("v0");
        expect(inner.find((a) => a.kind === "u32" && a.value === ifindex)).toBeDefined();
        expect(e.netlink.genl_cmd).toBe(e.netlink.genl!.cmd);
        expect(mon.err.lines.join("\n")).not.toContain("policy could not be read");
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);

    test(`${b.name}: taskstats exit records carry the pid, command and parent of a process that ended`, async () => {
      // the kernel takes listeners only from the initial namespaces: this runs in the host's
      const mon = startNlmon({ args: ["--config", config(`ts-${b.name}`, ["TASKSTATS"])], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("taskstats: registering"), 15_000)).toBeGreaterThanOrEqual(0);
        const from = ev.cursor();
        const p = Bun.spawn(["sh", "-c", "exec sleep 0.2"]);
        await p.exited;
        const rec = await ev.waitFor(`the exit record of pid ${p.pid}`, (x: NlEvent) => x.type === "taskstats" && x.netlink.taskstats?.pid === p.pid, from, 5_000);
        const s = rec.netlink.taskstats!.stats!;
        expect(s.ac_comm).toBe("sleep");
        expect(s.ac_pid).toBe(p.pid);
        expect(s.ac_ppid).toBe(process.pid);
        expect(s.ac_exitcode).toBe(0);
        // the version this kernel sends, and what nlmon's header does not know of it, counted
        expect(typeof s.version).toBe("number");
        expect(rec.netlink.genl_family_name).toBe("TASKSTATS");
        // its elapsed time (µs) is at least the 0.2 s it slept
        expect(Number(s.ac_etime)).toBeGreaterThanOrEqual(200_000);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);

    test(`${b.name}: taskstats refused outside the initial pid namespace, and nlmon says why`, async () => {
      const mon = startNlmon({ bin: "unshare", args: ["--pid", "--fork", "--mount-proc", BIN, "--config", config(`tsr-${b.name}`, ["TASKSTATS"])], env: b.env });
      try {
        const at = await mon.err.waitLine((l) => l.includes("refused the registration"), 15_000);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(mon.err.lines[at]).toContain("initial user and pid namespaces");
        expect(mon.proc.exitCode).toBeNull();
      } finally {
        // unshare waits for its child and passes no signal on: stop nlmon itself, then unshare ends with its status
        const child = run(["pgrep", "-P", String(mon.proc.pid)]).out.trim();
        if (child) process.kill(Number(child), "SIGTERM");
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);

    test(`${b.name}: netdev's mgmt group: a new device's notification, read by shape, carries its ifindex`, async () => {
      const ns = nsName(`nd${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      const mon = startNlmon({ ns, args: ["--config", config(`nd-${b.name}`, ["netdev"])], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        const from = ev.cursor();
        ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        const ifindex = (JSON.parse(ip(ns, "-j", "link", "show", "v0")) as { ifindex: number }[])[0]!.ifindex;
        await ev.waitFor("a netdev notification", (x) => x.netlink.genl_family_name === "netdev", from, 5_000);
        await Bun.sleep(300);
        // netdev's commands' policies do not describe its notifications' numbers: attributes by shape,
        // among them the device's index as the bytes of a little-endian u32 (this system's headers
        // have no linux/netdev.h to name it by)
        const le = Buffer.alloc(4);
        le.writeUInt32LE(ifindex);
        const evs = ev.since(from, (x) => x.netlink.genl_family_name === "netdev");
        expect(evs.some((x) => x.netlink.genl!.attrs!.some((a) => a.len === 4 && a.value === le.toString("hex")))).toBe(true);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);

    test(`${b.name}: {name, groups} joins only the groups listed`, async () => {
      const ns = nsName(`gr${b.name}`);
      vethNs(ns);
      must(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.mptcp.enabled=1"]);
      const cfg = join(dir, `gr-${b.name}.yaml`);
      // mptcp_pm's command group only: its connection events go to the other group
      writeFileSync(cfg, "netlink:\n  protocols: { route: false, generic: true }\n  generic_families:\n    - { name: mptcp_pm, groups: [mptcp_pm_cmds] }\n    - ethtool\n");
      const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        expect(mon.err.lines.join("\n")).toContain("mptcp_pm=");
        expect(mon.err.lines.join("\n")).toContain("(mptcp_pm_cmds)");
        const from = ev.cursor();
        mptcpConnection(ns);
        // ethtool's event after the connection: once it is here, anything mptcp_pm sent is too
        must(["ip", "netns", "exec", ns, "ethtool", "-K", "v0", "tx", "off"]);
        await ev.waitFor("an ethtool notification", (x) => x.netlink.genl_family_name === "ethtool", from, 5_000);
        expect(ev.since(from, (x) => x.netlink.genl_family_name === "mptcp_pm")).toEqual([]);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);

    test(`${b.name}: mptcp_pm events, attributes read by shape`, async () => {
      const ns = nsName(`mp${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      ip(ns, "link", "set", "lo", "up");
      must(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.mptcp.enabled=1"]);
      const mon = startNlmon({ ns, args: ["--config", config(`mp-${b.name}`, ["mptcp_pm"])], env: b.env });
      const ev = new EventStream(mon);
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        const from = ev.cursor();
        mptcpConnection(ns);
        await ev.waitFor("an mptcp_pm event", (x) => x.netlink.genl_family_name === "mptcp_pm", from, 5_000);
        await Bun.sleep(300);
        const evs = ev.since(from, (x) => x.netlink.genl_family_name === "mptcp_pm");
        // a connection is created and closed on both ends: at least four events, each with attributes
        expect(evs.length).toBeGreaterThanOrEqual(4);
        for (const x of evs) expect(x.netlink.genl!.attrs!.length).toBeGreaterThan(0);
        // 127.0.0.1 appears as the bytes of an address attribute in the creation events
        expect(evs.some((x) => x.netlink.genl!.attrs!.some((a) => a.value === "7f000001"))).toBe(true);
        // named as linux/mptcp.h names its events and their attributes
        expect(evs.map((x) => x.netlink.genl!.cmd_name)).toEqual(expect.arrayContaining(["created", "established", "closed"]));
        expect(evs.some((x) => x.netlink.genl!.attrs!.some((a) => a.name === "token" && a.len === 4))).toBe(true);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
    }, 60_000);
  }
});
