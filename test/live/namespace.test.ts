/**
 * netlink.namespace: nlmon, started in the test's own (root) namespace without `ip netns exec`,
 * monitors another namespace. On both backends: routes added in that namespace arrive exactly as
 * `ip -n NS monitor` sees them and routes added in a third namespace do not; the start-up dump (the
 * link cache) is the namespace's; the Prometheus export still listens in nlmon's own namespace and
 * nlmon itself stays there; `--dump-events` with the namespace is byte for byte
 * `ip netns exec NS nlmon --dump-events`. A namespace that is not there, a file that is not one,
 * and a refused setns are a clear message and exit status 2.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BACKENDS, delNs, ensureBinary, ensureLibnl, ip, ipMonMark, makeNs, must, nlmonMark, nsName, run, runNlmon, sleep,
  startIpMonitor, startNlmon, syncMark, tempDir, writeConfig, type Child,
} from "./lib.ts";
import type { NlEvent } from "../../src/event/model.ts";

const nsA = nsName("ns-a");
const nsB = nsName("ns-b");
const missing = nsName("ns-missing");
let dir = "";

beforeAll(async () => {
  ensureBinary();
  ensureLibnl();
  dir = tempDir("ns");
  await makeNs(nsA);
  must(["ip", "netns", "add", nsB]);
  ip(nsB, "link", "set", "lo", "up");
  // the monitored namespace's links must not number what the host's do, or the cache check below
  // could not tell the two apart
  const hostLinks = (JSON.parse(must(["ip", "-j", "link", "show"])) as unknown[]).length;
  for (let i = 0; (JSON.parse(ip(nsA, "-j", "link", "show")) as unknown[]).length === hostLinks; i++) {
    ip(nsA, "link", "add", `x${i}`, "type", "veth", "peer", "name", `y${i}`);
  }
});

afterAll(() => {
  delNs(nsA);
  delNs(nsB);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** the route lines of `ip -o monitor route` between two line indexes, as `dst` of each added blackhole */
function ipMonAdds(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const m = /(?:^|\])blackhole (\S+) /.exec(l);
    return m && !/^Deleted/.test(l.replace(/^\[[^\]]*\]/, "")) ? [m[1]!.includes("/") ? m[1]! : `${m[1]}/32`] : [];
  });
}

function nlmonAdds(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const e = JSON.parse(l) as NlEvent;
    const r = e.netlink.route;
    return r && e.netlink.msg_type_name === "RTM_NEWROUTE" && r.type_name === "blackhole" ? [r.dst] : [];
  });
}

async function metrics(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  return await r.text();
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

for (const [i, b] of BACKENDS.entries()) {
  describe(`netlink.namespace, ${b.name} backend`, () => {
    test("monitors the namespace from outside it: its routes arrive as ip monitor sees them, another namespace's do not", async () => {
      const port = 19400 + (process.pid % 200) * 2 + i;
      const cfg = writeConfig(dir, `mon-${b.name}.yaml`, [
        "netlink:", `  namespace: ${nsA}`,
        "export:", "  prometheus:", "    enabled: true", "    address: 127.0.0.1", `    port: ${port}`, "",
      ].join("\n"));
      const nl = startNlmon({ args: ["--config", cfg], env: b.env });
      const ipm = startIpMonitor(nsA, ["route"]);
      const children: Child[] = [nl, ipm];
      try {
        const start = await syncMark(nsA, [{ lines: nl.out, match: nlmonMark }, { lines: ipm.out, match: ipMonMark }]);
        // nlmon itself stays in the namespace it was started in
        expect(readlinkSync(`/proc/${nl.proc.pid}/ns/net`)).toBe(readlinkSync("/proc/self/ns/net"));

        for (let k = 1; k <= 20; k++) {
          ip(nsA, "route", "add", "blackhole", `203.0.113.${k}`, "proto", "77");
          ip(nsB, "route", "add", "blackhole", `198.51.100.${k}`, "proto", "77");
        }
        const end = await syncMark(nsA, [{ lines: nl.out, match: nlmonMark }, { lines: ipm.out, match: ipMonMark }]);
        // a mark that one watcher missed in time is retried: only the test's own routes are compared
        const ours = (d: string) => d.startsWith("203.0.113.");
        const got = nlmonAdds(nl.out.lines.slice(start.at[0]! + 1, end.at[0])).filter(ours);
        const want = ipMonAdds(ipm.out.lines.slice(start.at[1]! + 1, end.at[1])).filter(ours);
        expect(want).toEqual(Array.from({ length: 20 }, (_, k) => `203.0.113.${k + 1}/32`));
        expect(got).toEqual(want);
        // nsB's routes came nowhere, not even after the mark
        expect(nl.out.lines.filter((l) => l.includes('"198.51.100.'))).toEqual([]);

        // the start-up dump that primed the link cache ran in the namespace, and the export that
        // reports it listens in nlmon's own namespace (this process reaches it on loopback)
        const text = await metrics(port);
        const links = (JSON.parse(ip(nsA, "-j", "link", "show")) as unknown[]).length;
        expect(metric(text, "nlmon_cache_objects", 'cache="link"')).toBe(links);
        expect(metric(text, "nlmon_events_total", 'type="route"')).toBeGreaterThanOrEqual(22);
      } finally {
        for (const c of children) await c.stop();
        for (let k = 1; k <= 20; k++) {
          run(["ip", "-n", nsA, "route", "del", "blackhole", `203.0.113.${k}`]);
          run(["ip", "-n", nsB, "route", "del", "blackhole", `198.51.100.${k}`]);
        }
      }
      expect(nl.err.lines.filter((l) => /error|warn/i.test(l))).toEqual([]);
    }, 60_000);

    test("--dump-events with the namespace is `ip netns exec NS nlmon --dump-events` byte for byte", () => {
      const cfg = writeConfig(dir, `dump-${b.name}.yaml`, `netlink:\n  namespace: ${nsA}\n`);
      const inside = runNlmon({ ns: nsA, args: ["--dump-events"], env: b.env });
      expect(inside.code).toBe(0);
      const fromConfig = runNlmon({ args: ["--config", cfg, "--dump-events"], env: b.env });
      expect({ code: fromConfig.code, err: fromConfig.err }).toEqual({ code: 0, err: "" });
      expect(fromConfig.out).toBe(inside.out);
      const fromFlag = runNlmon({ args: ["--namespace", nsA, "--dump-events"], env: b.env });
      expect({ code: fromFlag.code, err: fromFlag.err }).toEqual({ code: 0, err: "" });
      expect(fromFlag.out).toBe(inside.out);
      // not vacuous: the namespace's own routes are there, and the host's dump differs
      expect(inside.out).toContain('"dst":"172.20.10.0/24"');
      expect(runNlmon({ args: ["--dump-events"], env: b.env }).out).not.toBe(inside.out);
    }, 60_000);
  });
}

describe("netlink.namespace beyond sockets", () => {
  test("netfilter.enable_accounting sets the monitored namespace's sysctls, not nlmon's own", async () => {
    const sysctl = (ns?: string) => {
      const cmd = ["cat", "/proc/sys/net/netfilter/nf_conntrack_acct"];
      return must(ns ? ["ip", "netns", "exec", ns, ...cmd] : cmd).trim();
    };
    const host = sysctl();
    expect(sysctl(nsA)).toBe("0");
    const cfg = writeConfig(dir, "acct.yaml", [
      "netlink:", `  namespace: ${nsA}`, "  protocols:", "    netfilter: true",
      "  netfilter:", "    enable_accounting: true", "",
    ].join("\n"));
    const nl = startNlmon({ args: ["--config", cfg] });
    try {
      expect(await nl.err.waitLine((l) => l.includes("set net.netfilter.nf_conntrack_acct=1"), 15_000)).toBeGreaterThanOrEqual(0);
      expect(sysctl(nsA)).toBe("1");
      expect(sysctl()).toBe(host);
    } finally {
      await nl.stop();
      run(["ip", "netns", "exec", nsA, "sh", "-c", "echo 0 > /proc/sys/net/netfilter/nf_conntrack_acct; echo 0 > /proc/sys/net/netfilter/nf_conntrack_timestamp"]);
    }
  }, 60_000);
});

describe("netlink.namespace that cannot be used", () => {
  test("a missing namespace in the config: its line, the message, exit 2", () => {
    const cfg = writeConfig(dir, "missing.yaml", `netlink:\n  namespace: ${missing}\n`);
    for (const args of [["--config", cfg], ["--config", cfg, "--dump-events"]]) {
      const r = runNlmon({ args });
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${cfg}:2:14: netlink.namespace: no such namespace '${missing}' (/run/netns/${missing})`);
      expect(r.out).toBe("");
    }
  });

  test("a missing namespace on the command line: the message, exit 2", () => {
    const r = runNlmon({ args: ["--namespace", missing, "--dump-events"] });
    expect(r.err).toContain(`netlink.namespace: no such namespace '${missing}' (/run/netns/${missing})`);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
  });

  test("a file that is not a network namespace: the message, exit 2", () => {
    const f = writeConfig(dir, "not-a-namespace", "");
    const cfg = writeConfig(dir, "notns.yaml", `netlink:\n  namespace: ${f}\n`);
    const r = runNlmon({ args: ["--config", cfg, "--dump-events"] });
    expect(r.err).toContain(`netlink.namespace: '${f}' is not a network namespace (setns: Invalid argument)`);
    expect(r.code).toBe(2);
  });

  test("setns refused (no CAP_SYS_ADMIN): the namespace, the reason, exit 2", () => {
    if (!Bun.which("setpriv")) throw new Error("setpriv (util-linux) is needed to drop CAP_SYS_ADMIN");
    const cfg = writeConfig(dir, "eperm.yaml", `netlink:\n  namespace: ${nsA}\n`);
    for (const mode of [[], ["--dump-events"]]) {
      const r = run(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--", join(import.meta.dir, "../../dist/nlmon"), "--config", cfg, ...mode]);
      expect(r.err).toContain(`netlink.namespace: cannot enter network namespace '${nsA}' (/run/netns/${nsA}): setns: Operation not permitted (entering another network namespace needs CAP_SYS_ADMIN`);
      expect(r.code).toBe(2);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// netlink.namespaces: all

/** the inodes of the netlink sockets in a namespace, as the kernel lists them there */
function netlinkInodes(nsPath: string): Set<number> {
  const text = must(["nsenter", `--net=${nsPath}`, "cat", "/proc/net/netlink"]);
  const [head, ...rows] = text.trim().split("\n");
  const col = head!.trim().split(/\s+/).indexOf("Inode");
  if (col < 0) throw new Error(`/proc/net/netlink has no Inode column: ${head}`);
  return new Set(rows.map((r) => Number(r.trim().split(/\s+/)[col])));
}

/** the inodes of the sockets a process holds */
function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      // closed while listed
    }
  }
  return out;
}

const inodeOf = (ns: string) => Number(must(["stat", "-L", "-c", "%i", `/run/netns/${ns}`]).trim());
const both = (a: Set<number>, b: Set<number>) => [...a].filter((x) => b.has(x));

for (const b of BACKENDS) {
  describe(`netlink.namespaces: all, ${b.name} backend`, () => {
    test("follows namespaces as they come and go: events tagged with name and inode, devices named per namespace, a removed namespace's sockets closed", async () => {
      const p = nsName("all-p");
      const q = nsName("all-q");
      const r = nsName("all-r");
      const rFile = join(dir, `${r}.net`);
      const cfg = writeConfig(dir, `all-${b.name}.yaml`, "netlink:\n  namespaces: all\n  caching:\n    enabled: false\n");
      let nl: Child | undefined;
      try {
        // p is there before nlmon starts; each namespace here numbers its one veth pair alike, so
        // a device name taken from the wrong namespace shows
        must(["ip", "netns", "add", p]);
        ip(p, "link", "set", "lo", "up");
        ip(p, "link", "add", "pa0", "type", "veth", "peer", "name", "pb0");
        ip(p, "link", "set", "pa0", "up");
        nl = startNlmon({ args: ["--config", cfg], env: b.env });
        const follows = (ns: string) => (l: string) => l.includes(`namespace '${ns}' (inode `) && l.includes("following it");
        expect(await nl.err.waitLine(follows(p), 10_000)).toBeGreaterThanOrEqual(0);
        await syncMark(p, [{ lines: nl.out, match: nlmonMark }]);

        // q is added while it runs, its device made after nlmon follows it
        must(["ip", "netns", "add", q]);
        expect(await nl.err.waitLine(follows(q), 10_000)).toBeGreaterThanOrEqual(0);
        ip(q, "link", "set", "lo", "up");
        ip(q, "link", "add", "qa0", "type", "veth", "peer", "name", "qb0");
        ip(q, "link", "set", "qa0", "up");
        await syncMark(q, [{ lines: nl.out, match: nlmonMark }]);

        // r is named the way `ip netns add` names one, by hand: its name appears as a plain file,
        // the namespace (its device already made) is mounted onto it only a moment later
        writeFileSync(rFile, "");
        must(["unshare", `--net=${rFile}`, "true"]);
        must(["nsenter", `--net=${rFile}`, "ip", "link", "set", "lo", "up"]);
        must(["nsenter", `--net=${rFile}`, "ip", "link", "add", "ra0", "type", "veth", "peer", "name", "rb0"]);
        must(["nsenter", `--net=${rFile}`, "ip", "link", "set", "ra0", "up"]);
        writeFileSync(`/run/netns/${r}`, "");
        await sleep(300);
        must(["mount", "--bind", rFile, `/run/netns/${r}`]);
        expect(await nl.err.waitLine(follows(r), 10_000)).toBeGreaterThanOrEqual(0);

        const from = nl.out.lines.length;
        ip(p, "route", "add", "10.62.0.0/16", "via", "10.9.9.9", "dev", "pa0", "onlink");
        ip(q, "route", "add", "10.61.0.0/16", "via", "10.9.9.9", "dev", "qa0", "onlink");
        ip(r, "route", "add", "10.63.0.0/16", "via", "10.9.9.9", "dev", "ra0", "onlink");
        for (const ns of [p, q, r]) await syncMark(ns, [{ lines: nl.out, match: nlmonMark }]);
        const evs = nl.out.lines.slice(from).map((l) => JSON.parse(l) as NlEvent);
        const route = (dst: string) => evs.find((e) => e.netlink.route?.dst === dst && e.netlink.msg_type_name === "RTM_NEWROUTE");
        const where = (e: NlEvent | undefined) => e && { namespace: e.namespace, dev: e.netlink.route?.dev, ifindex: e.netlink.route?.oif };
        const ifindex = (ns: string, dev: string) => (JSON.parse(ip(ns, "-j", "link", "show", "dev", dev)) as { ifindex: number }[])[0]!.ifindex;
        // the three devices share one ifindex, each in its own namespace: only names kept per
        // namespace give each route its own device's name
        const shared = ifindex(p, "pa0");
        expect([ifindex(q, "qa0"), ifindex(r, "ra0")]).toEqual([shared, shared]);
        expect(where(route("10.62.0.0/16"))).toEqual({ namespace: { name: p, inode: inodeOf(p) }, dev: "pa0", ifindex: shared });
        expect(where(route("10.61.0.0/16"))).toEqual({ namespace: { name: q, inode: inodeOf(q) }, dev: "qa0", ifindex: shared });
        // r's device was there before nlmon followed r: its name came from the dump made on following
        expect(where(route("10.63.0.0/16"))).toEqual({ namespace: { name: r, inode: inodeOf(r) }, dev: "ra0", ifindex: shared });
        // every event says where it came from
        expect(evs.filter((e) => !e.namespace).map((e) => e.netlink.msg_type_name)).toEqual([]);

        // q removed: its sockets are closed (none of the sockets the kernel lists in q is nlmon's any
        // more), the log says so, and the others run on
        const inQ = both(netlinkInodes(`/run/netns/${q}`), socketInodes(nl.proc.pid));
        expect(inQ.length).toBe(1);
        const qInode = inodeOf(q);
        must(["ip", "netns", "del", q]);
        expect(await nl.err.waitLine((l) => l.includes(`namespace '${q}' (inode ${qInode}) is gone: 1 socket closed`), 10_000)).toBeGreaterThanOrEqual(0);
        expect(both(new Set(inQ), socketInodes(nl.proc.pid))).toEqual([]);
        expect(both(netlinkInodes(`/run/netns/${p}`), socketInodes(nl.proc.pid)).length).toBe(1);
        const after = nl.out.lines.length;
        await syncMark(p, [{ lines: nl.out, match: nlmonMark }]);
        const tagged = nl.out.lines.slice(after).map((l) => (JSON.parse(l) as NlEvent).namespace?.name);
        expect(tagged.includes(p)).toBe(true);
        expect(tagged.includes(q)).toBe(false);
      } finally {
        const code = await nl?.stop();
        delNs(p);
        delNs(q);
        delNs(r);
        run(["umount", rFile]);
        expect(code).toBe(0);
      }
      expect(nl.err.lines.filter((l) => /error|warn/i.test(l))).toEqual([]);
    }, 90_000);
  });
}

describe("netlink.namespaces: all, what it does not do", () => {
  test("with the caches on: a config error at its line, exit 2", () => {
    const cfg = writeConfig(dir, "all-cached.yaml", "netlink:\n  namespaces: all\n");
    const r = runNlmon({ args: ["--config", cfg] });
    expect(r.err).toContain(`${cfg}:2:15: netlink.namespaces: all follows notifications only`);
    expect(r.err).toContain("set netlink.caching.enabled: false");
    expect(r.code).toBe(2);
  });

  test("--dump-events takes one namespace: exit 2 saying so", () => {
    const cfg = writeConfig(dir, "all-dump.yaml", "netlink:\n  namespaces: all\n  caching:\n    enabled: false\n");
    const r = runNlmon({ args: ["--config", cfg, "--dump-events"] });
    expect(r.err).toContain("--dump-events takes one namespace, and netlink.namespaces: all names every one");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
  });
});
