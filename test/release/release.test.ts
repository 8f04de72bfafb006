/**
 * The release artefacts: the four single-file executables from scripts/release.sh and the service files.
 *
 * The binaries are used as found in dist/release/; when some are missing or older than src/ (or
 * NLMON_RELEASE_REBUILD=1), scripts/release.sh builds them first: seconds once .cache/release holds the runtimes, a few
 * minutes and the network the first time.
 * NLMON_RELEASE_DIR points the tests at binaries elsewhere. The arm64 glibc binary runs under qemu-user; that and the
 * namespace need root.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const RELEASE = resolve(ROOT, process.env.NLMON_RELEASE_DIR ?? "dist/release");
const TARGETS = ["x64", "arm64", "x64-musl", "arm64-musl"] as const;
type Target = (typeof TARGETS)[number];
const bin = (t: Target): string => join(RELEASE, `nlmon-linux-${t}`);
const isRoot = process.getuid?.() === 0;
// qemu starting a 100 MB JavaScriptCore runtime is slow; a dump also waits for the kernel's replies.
const QEMU_TIMEOUT_MS = 300_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Run {
  const p = Bun.spawnSync(cmd, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function have(tool: string): boolean {
  return run(["sh", "-c", `command -v ${tool}`]).code === 0;
}

/** apt-get, only when the tool is missing and we may: a test host without it is still a valid test host. */
function ensureTool(tool: string, packages: string[]): boolean {
  if (have(tool)) return true;
  if (isRoot) run(["apt-get", "install", "-y", ...packages], { timeoutMs: 600_000 });
  return have(tool);
}

/** Newest modification time among the sources a release is built from. */
function newestSource(): number {
  let newest = 0;
  for (const f of new Bun.Glob("src/**/*").scanSync({ cwd: ROOT })) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}

function ensureRelease(): boolean {
  const complete = TARGETS.every((t) => existsSync(bin(t)));
  // Binaries older than the sources would test yesterday's nlmon; rebuilding from the cache costs seconds. Binaries
  // pointed at by NLMON_RELEASE_DIR are taken as they are.
  const fresh = complete && (process.env.NLMON_RELEASE_DIR !== undefined ||
    Math.min(...TARGETS.map((t) => statSync(bin(t)).mtimeMs)) >= newestSource());
  if (fresh && process.env.NLMON_RELEASE_REBUILD !== "1") return true;
  if (process.env.NLMON_RELEASE_DIR !== undefined || !existsSync(join(ROOT, "src/cli/main.ts"))) return complete;
  const r = run(["bash", "scripts/release.sh"], { timeoutMs: 1_200_000 });
  if (r.code !== 0) throw new Error(`scripts/release.sh failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  return TARGETS.every((t) => existsSync(bin(t)));
}

const haveRelease = ensureRelease();
const haveQemu = haveRelease && isRoot && ensureQemuArm64();

/** qemu-user plus the arm64 glibc and libstdc++ the arm64 binary is linked against (multiarch). */
function ensureQemuArm64(): boolean {
  if (!ensureTool("qemu-aarch64-static", ["qemu-user-static"])) return false;
  const libs = ["libc6:arm64", "libstdc++6:arm64"];
  if (run(["dpkg", "-s", ...libs]).code !== 0) {
    run(["dpkg", "--add-architecture", "arm64"]);
    run(["apt-get", "update"], { timeoutMs: 600_000 });
    run(["apt-get", "install", "-y", ...libs], { timeoutMs: 600_000 });
  }
  return run(["dpkg", "-s", ...libs]).code === 0;
}

const arm64 = (args: string[], env?: Record<string, string>): Run =>
  run(["qemu-aarch64-static", bin("arm64"), ...args], { env, timeoutMs: QEMU_TIMEOUT_MS });

const tmp = mkdtempSync(join(tmpdir(), "nlmon-release-test-"));
const namespaces: string[] = [];
afterAll(() => {
  for (const ns of namespaces) run(["ip", "netns", "del", ns]);
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!haveQemu)("arm64 glibc binary under qemu-user", () => {
  test(
    "--version matches the x64 binary's",
    () => {
      const a = arm64(["--version"]);
      expect(a.code).toBe(0);
      expect(a.stdout.trim()).not.toBe("");
      expect(a.stdout).toBe(run([bin("x64"), "--version"]).stdout);
    },
    QEMU_TIMEOUT_MS,
  );

  test(
    "--help matches the x64 binary's",
    () => {
      const a = arm64(["--help"]);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(run([bin("x64"), "--help"]).stdout);
    },
    QEMU_TIMEOUT_MS,
  );

  test(
    "a misspelt config key exits 2",
    () => {
      const cfg = join(tmp, "bad.yaml");
      writeFileSync(cfg, "netlink:\n  protocls:\n    route: true\n");
      const a = arm64(["--config", cfg]);
      expect(a.code).toBe(2);
      expect(a.stderr).not.toBe("");
    },
    QEMU_TIMEOUT_MS,
  );

  test(
    "--dump-events in a namespace equals the x64 binary's byte for byte",
    () => {
      const ns = `nlrel${process.pid}`;
      namespaces.push(ns);
      const setup = [
        `ip netns add ${ns}`,
        `ip -n ${ns} link set lo up`,
        `ip -n ${ns} link add v0 type veth peer name v1`,
        `ip -n ${ns} link set v0 up`,
        `ip -n ${ns} link set v1 up`,
        `ip -n ${ns} addr add 10.9.0.1/24 dev v0`,
        `ip -n ${ns} -6 addr add 2001:db8:9::1/64 dev v0 nodad`,
        ...[10, 11, 12].flatMap((t) => [
          `ip -n ${ns} route add 172.20.${t}.0/24 via 10.9.0.2 table ${t} proto 201`,
          `ip -n ${ns} -6 route add 2001:db8:${t}::/48 via 2001:db8:9::2 table ${t} proto 201`,
        ]),
      ];
      for (const line of setup) {
        const r = run(line.split(" "));
        expect(r.stderr).toBe("");
      }
      const env = { NLMON_USE_LIBNL: "false" };
      const x = run(["ip", "netns", "exec", ns, bin("x64"), "--dump-events"], { env });
      const a = run(["ip", "netns", "exec", ns, "qemu-aarch64-static", bin("arm64"), "--dump-events"], {
        env,
        timeoutMs: QEMU_TIMEOUT_MS,
      });
      if (x.code !== 0) throw new Error(`x64 --dump-events exited ${x.code}: ${x.stderr}`);
      // qemu-user translates only link, addr and route messages on a NETLINK_ROUTE socket's send/recv; anything else
      // fails there with EOPNOTSUPP or EINVAL, which shows up here.
      if (a.code !== 0) throw new Error(`arm64 --dump-events under qemu exited ${a.code}: ${a.stderr}`);
      // Guards against two empty dumps passing as equal.
      expect(x.stdout).toContain("172.20.12.0/24");
      expect(a.stdout).toBe(x.stdout);
    },
    2 * QEMU_TIMEOUT_MS,
  );
});

/** The sonames docs/OPENWRT.md tells a router to provide, from the fenced block after its `needed-libraries` marker. */
function documentedLibraries(): { soname: string; neededBy: string[] }[] {
  const doc = readFileSync(join(ROOT, "docs/OPENWRT.md"), "utf8");
  const block = /<!-- needed-libraries -->\s*```[^\n]*\n([\s\S]*?)```/.exec(doc);
  if (!block?.[1]) throw new Error("docs/OPENWRT.md has no fenced block after <!-- needed-libraries -->");
  return block[1]
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [soname = "", neededBy = ""] = l.trim().split(/\s{2,}/);
      return { soname, neededBy: neededBy.split(",").map((s) => s.trim()) };
    });
}

function needed(file: string): string[] {
  const r = run(["readelf", "-d", file]);
  expect(r.code).toBe(0);
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? "").sort();
}

const MUSL: { target: Target; arch: string; addon: string }[] = [
  { target: "x64-musl", arch: "x86_64", addon: "@koromix/koffi-linux-x64/musl_x64/koffi.node" },
  { target: "arm64-musl", arch: "aarch64", addon: "@koromix/koffi-linux-arm64/musl_arm64/koffi.node" },
];

describe.skipIf(!haveRelease || !have("readelf"))("musl binaries need exactly what docs/OPENWRT.md installs", () => {
  for (const { target, arch, addon } of MUSL) {
    const expected = (who: string): string[] =>
      documentedLibraries()
        .filter((l) => l.neededBy.includes(who))
        .map((l) => l.soname.replace("<arch>", arch))
        .sort();

    test(`nlmon-linux-${target}`, () => {
      expect(needed(bin(target))).toEqual(expected("nlmon"));
    });

    // The addon is embedded and dlopen()ed from a temp file at run time, so readelf on the executable can't see it.
    test(`its koffi addon (${addon})`, () => {
      const file = join(ROOT, "node_modules", addon);
      expect(existsSync(file)).toBe(true);
      expect(needed(file)).toEqual(expected("koffi"));
    });
  }
});

/** Which of koffi's four addons have their bytes inside `exe` (names would not do: --minify drops path comments). */
async function embeddedAddons(exe: string): Promise<string[]> {
  const image = Buffer.from(await Bun.file(exe).arrayBuffer());
  const found: string[] = [];
  for (const [pkg, addon] of [["x64", "linux_x64"], ["x64", "musl_x64"], ["arm64", "linux_arm64"], ["arm64", "musl_arm64"]]) {
    const bytes = Buffer.from(await Bun.file(join(ROOT, `node_modules/@koromix/koffi-linux-${pkg}/${addon}/koffi.node`)).arrayBuffer());
    const mid = bytes.length >> 1;
    if (image.indexOf(bytes.subarray(mid, mid + 512)) >= 0) found.push(addon ?? "");
  }
  return found;
}

// koffi.ts promises one addon per binary; a surviving branch would add a dead megabyte of another target's code.
describe.skipIf(!haveRelease)("each binary embeds only its own koffi addon", () => {
  const own: Record<Target, string> = {
    x64: "linux_x64",
    arm64: "linux_arm64",
    "x64-musl": "musl_x64",
    "arm64-musl": "musl_arm64",
  };
  for (const t of TARGETS) {
    test(`nlmon-linux-${t}`, async () => {
      expect(await embeddedAddons(bin(t))).toEqual([own[t]]);
    });
  }
});

describe("service files", () => {
  test.skipIf(!ensureTool("systemd-analyze", ["systemd"]))(
    "systemd-analyze verify config/systemd/nlmon.service",
    () => {
      // verify insists that ExecStart's binary exists; point it at a stand-in rather than touching /usr/local/bin.
      const exe = join(tmp, "nlmon");
      if (haveRelease) copyFileSync(bin("x64"), exe);
      else writeFileSync(exe, "#!/bin/sh\n");
      chmodSync(exe, 0o755);
      const unit = readFileSync(join(ROOT, "config/systemd/nlmon.service"), "utf8");
      expect(unit).toContain("ExecStart=/usr/local/bin/nlmon ");
      const copy = join(tmp, "nlmon.service");
      writeFileSync(copy, unit.replaceAll("/usr/local/bin/nlmon", exe));
      const r = run(["systemd-analyze", "verify", copy]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    },
    60_000,
  );

  test("sh -n config/openwrt/nlmon.init", () => {
    const r = run(["sh", "-n", "config/openwrt/nlmon.init"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
