/**
 * --test-mode against the real kernel, each run in a namespace of its own: the default config
 * passes on both backends; each way it can fail fails with exit 1 and a row that says what to do
 * (a generic family the kernel lacks, libnl missing, CAP_NET_ADMIN missing, an export target that
 * cannot be had); a config error is exit 2; and nothing is monitored meanwhile.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BACKENDS, BIN, liveFile, run, runNlmon, writeConfig } from "./lib.ts";

const { dir, freshNs } = liveFile("testmode", [["setpriv", "util-linux"]]);


interface Row { check: string; result: string; detail: string }

/** the table's rows, by the column the header puts RESULT in */
function rows(out: string): Row[] {
  const lines = out.split("\n");
  const head = lines.findIndex((l) => /^CHECK +RESULT +DETAIL$/.test(l));
  expect(head).toBeGreaterThanOrEqual(0);
  const at = lines[head]!.indexOf("RESULT");
  const out2: Row[] = [];
  for (const l of lines.slice(head + 1)) {
    if (!l.trim()) break;
    out2.push({ check: l.slice(0, at).trim(), result: l.slice(at, at + 6).trim(), detail: l.slice(at + 8) });
  }
  return out2;
}

const row = (rs: Row[], check: string) => {
  const r = rs.find((x) => x.check === check);
  if (!r) throw new Error(`no row '${check}' in: ${rs.map((x) => x.check).join(", ")}`);
  return r;
};

/** a control socket of the test's own, so a daemon running elsewhere on the host changes nothing */
const CONTROL = (name: string) => `control: { socket: ${join(dir, name)}.sock }\n`;

describe("--test-mode", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: the default config passes; sockets, groups and buffer are checked; no event is printed`, () => {
      const ns = freshNs(`tm${b.name}`);
      const r = runNlmon({ ns, args: ["--test-mode"], env: b.env });
      expect(r.code).toBe(0);
      const rs = rows(r.out);
      expect(row(rs, "config").result).toBe("OK");
      expect(row(rs, "backend")).toMatchObject({ result: "OK" });
      expect(row(rs, "backend").detail).toContain(b.name === "libnl" ? "libnl (" : "legacy");
      // every rtnetlink group nlmon decodes, joined one by one
      const route = row(rs, "NETLINK_ROUTE");
      expect(route.result).toBe("OK");
      expect(route.detail).toContain("15 groups joined");
      for (const g of ["link", "ipv4_route", "ipv6_route", "neigh", "nexthop", "nsid"]) expect(route.detail.split(" ")).toContain(g);
      // root has CAP_NET_ADMIN: the configured 32 MiB is granted past rmem_max
      expect(row(rs, "NETLINK_ROUTE receive buffer")).toMatchObject({ result: "OK", detail: "33554432 bytes (SO_RCVBUFFORCE)" });
      expect(row(rs, "export json")).toMatchObject({ result: "OK", detail: "standard output" });
      expect(r.out).toMatch(/\d+ checks: \d+ OK, \d+ WARN, 0 FAIL/);
      // a table, not events
      expect(r.out.split("\n").filter((l) => l.startsWith("{"))).toEqual([]);
    }, 30_000);
  }

  test("a generic family the kernel lacks fails, naming it and the module to load", () => {
    const ns = freshNs("tmgenl");
    const cfg = writeConfig(dir, "genl.yaml", `netlink:\n  protocols: { route: true, generic: true }\n  generic_families: [nl80211, nosuchfamily, TASKSTATS]\n${CONTROL("genl")}`);
    const r = runNlmon({ ns, args: ["--config", cfg, "--test-mode"] });
    expect(r.code).toBe(1);
    const rs = rows(r.out);
    const bogus = row(rs, "generic family nosuchfamily");
    expect(bogus.result).toBe("FAIL");
    expect(bogus.detail).toContain("the kernel has no generic netlink family of that name");
    // what the kernel has, so a typo can be seen
    expect(bogus.detail).toContain("nlctrl");
    // the families the kernel has are joined and pass
    expect(row(rs, "generic family nlctrl")).toMatchObject({ result: "OK" });
    expect(row(rs, "generic family nlctrl").detail).toMatch(/^id 16; joined notify$/);
    expect(row(rs, "generic family TASKSTATS").result).toBe("OK");
    if (!existsSync("/sys/module/cfg80211")) {
      const wifi = row(rs, "generic family nl80211");
      expect(wifi.result).toBe("FAIL");
      expect(wifi.detail).toContain("modprobe cfg80211");
    }
    expect(r.out).toMatch(/[1-9]\d* FAIL: nlmon cannot run as configured/);
  }, 30_000);

  test("libnl missing fails with the packages to install; with fallback: legacy it is a warning", () => {
    const ns = freshNs("tmlib");
    const cfg = writeConfig(dir, "libnl.yaml", `netlink:\n  use_libnl: true\n${CONTROL("libnl")}`);
    const r = runNlmon({ ns, args: ["--config", cfg, "--test-mode"], env: { NLMON_LIBNL_PATH: "/nonexistent" } });
    expect(r.code).toBe(1);
    const be = row(rows(r.out), "backend");
    expect(be.result).toBe("FAIL");
    expect(be.detail).toContain("/nonexistent");
    expect(be.detail).toContain("libnl-3-200 and libnl-genl-3-200 (Debian/Ubuntu)");
    expect(be.detail).toContain("libnl-tiny (OpenWrt)");

    const fb = writeConfig(dir, "fallback.yaml", `netlink:\n  use_libnl: true\n  libnl: { fallback: legacy }\n${CONTROL("fallback")}`);
    const r2 = runNlmon({ ns, args: ["--config", fb, "--test-mode"], env: { NLMON_LIBNL_PATH: "/nonexistent" } });
    expect(r2.code).toBe(0);
    const rs2 = rows(r2.out);
    expect(row(rs2, "backend").result).toBe("WARN");
    expect(row(rs2, "backend").detail).toContain("legacy, not libnl");
    expect(row(rs2, "NETLINK_ROUTE").result).toBe("OK");
  }, 30_000);

  test("without CAP_NET_ADMIN: netfilter's groups fail naming the capability; the small buffer is a warning naming rmem_max", () => {
    const ns = freshNs("tmcap");
    const cfg = writeConfig(dir, "caps.yaml", `netlink:\n  protocols: { route: true, netfilter: true }\n${CONTROL("caps")}`);
    const r = runNlmon({ ns, bin: "setpriv", args: ["--bounding-set=-net_admin", BIN, "--config", cfg, "--test-mode"] });
    expect(r.code).toBe(1);
    const rs = rows(r.out);
    const nf = row(rs, "NETLINK_NETFILTER");
    expect(nf.result).toBe("FAIL");
    for (const g of ["conntrack_new", "conntrack_update", "conntrack_destroy", "nftables"]) expect(nf.detail).toContain(g);
    expect(nf.detail).toContain("CAP_NET_ADMIN");
    expect(nf.detail).toContain("setcap cap_net_admin+ep");
    expect(nf.detail).toContain("AmbientCapabilities=CAP_NET_ADMIN");
    // route needs no privilege
    expect(row(rs, "NETLINK_ROUTE").result).toBe("OK");
    const rmem = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    const buf = row(rs, "NETLINK_ROUTE receive buffer");
    if (rmem < 33554432) {
      expect(buf.result).toBe("WARN");
      expect(buf.detail).toContain(`${rmem} bytes, not the 33554432 configured`);
      expect(buf.detail).toContain(`net.core.rmem_max (${rmem})`);
      expect(buf.detail).toContain("sysctl -w net.core.rmem_max=33554432");
    } else {
      expect(buf.result).toBe("OK");
    }
  }, 30_000);

  test("export targets: a port in use, a file that cannot be written, no syslog listener", async () => {
    const ns = freshNs("tmexp");
    // held in the test's namespace: nlmon runs in its own, so its port check is inside it
    const holder = Bun.spawn(["ip", "netns", "exec", ns, "python3", "-c",
      "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',19091))\ns.listen()\nprint('up',flush=True)\ntime.sleep(60)"],
    { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = holder.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain("up");
      const cfg = writeConfig(dir, "exports.yaml", [
        "export:",
        // sysfs refuses writing a read-only attribute even to root
        "  json: { enabled: true, file: /sys/kernel/uevent_seqnum }",
        "  prometheus: { enabled: true, port: 19091 }",
        `  syslog: { enabled: true, transport: unix, path: ${join(dir, "nobody.sock")} }`,
        `  pcap: { enabled: true, file: ${join(dir, "cap", "x.pcap")} }`,
        CONTROL("exports"),
      ].join("\n"));
      const r = runNlmon({ ns, args: ["--config", cfg, "--test-mode"] });
      expect(r.code).toBe(1);
      const rs = rows(r.out);
      expect(row(rs, "export prometheus").result).toBe("FAIL");
      expect(row(rs, "export prometheus").detail).toContain("0.0.0.0:19091: in use");
      expect(row(rs, "export json").result).toBe("FAIL");
      expect(row(rs, "export json").detail).toContain("/sys/kernel/uevent_seqnum: not writable");
      expect(row(rs, "export syslog").result).toBe("FAIL");
      expect(row(rs, "export syslog").detail).toContain("ENOENT");
      // a directory one level down is made by the export itself
      expect(row(rs, "export pcap")).toMatchObject({ result: "OK", detail: `${join(dir, "cap", "x.pcap")}: ${join(dir, "cap")} will be made` });
      expect(existsSync(join(dir, "cap"))).toBe(false);
      // the same port free: the check passes (the holder is in the namespace, not on the host)
      const free = writeConfig(dir, "free.yaml", `export:\n  prometheus: { enabled: true, port: 19091 }\n${CONTROL("free")}`);
      const r2 = runNlmon({ args: ["--config", free, "--test-mode"] });
      expect(row(rows(r2.out), "export prometheus").result).toBe("OK");
    } finally {
      holder.kill();
      await holder.exited;
    }
  }, 30_000);

  test("a config error is exit 2 with the located message, before any check", () => {
    const cfg = writeConfig(dir, "bad.yaml", "netlink:\n  protocls: { route: true }\n");
    const r = runNlmon({ args: ["--config", cfg, "--test-mode"] });
    expect(r.code).toBe(2);
    expect(r.err).toContain("config error");
    expect(r.err).toContain(`${cfg}:2:3: netlink.protocls: unknown key; did you mean 'protocols'?`);
    expect(r.out).toBe("");
  });

  test("--test-mode goes alone", () => {
    const r = run([BIN, "--test-mode", "--dump-events"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("separate modes");
  });
});
