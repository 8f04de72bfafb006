// Hooks run real commands: the event on stdin and in NLMON_* variables, no shell unless asked for,
// a timeout that takes the whole process group, and limits that drop (and count) rather than queue.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutomationConfigError, checkAutomation, startAutomation } from "../../src/automation/index.ts";
import { serialise } from "../../src/event/line.ts";
import { EVENT_ENV, eventEnv } from "../../src/hooks/env.ts";
import { alive, config, linkEvent, memLog, pipeline, routeEvent, until } from "./hooks-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-hooks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function sub(tag: string) {
  const d = join(dir, `${tag}-${++n}`);
  require("node:fs").mkdirSync(d);
  return d;
}

/** a script that records its stdin, NLMON_* environment and argv in files named by its pid */
function recorder(): { script: string; out: string } {
  const out = sub("rec");
  const script = join(out, "record.sh");
  writeFileSync(script, `#!/bin/sh
cat > "${out}/stdin.$$"
env | grep '^NLMON_' | sort > "${out}/env.$$"
for a in "$@"; do printf '%s\\n' "$a"; done > "${out}/argv.$$"
`);
  chmodSync(script, 0o755);
  return { script, out };
}

function runsIn(out: string, kind: "stdin" | "env" | "argv"): string[] {
  return readdirSync(out).filter((f) => f.startsWith(`${kind}.`)).map((f) => readFileSync(join(out, f), "utf8"));
}

function envOf(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

describe("a hook runs its command for the events its condition matches", () => {
  test("stdin is the event's line, the environment its main fields, argv is passed without a shell", async () => {
    const { script, out } = recorder();
    const cfg = config(`
hooks:
  - name: link_down
    when: type == link && netlink.link.operstate == DOWN
    command: ["${script}", "literal $(touch ${out}/pwned) ;|&"]
`);
    const { p, emit, metrics } = pipeline();
    const { log } = memLog();
    const a = startAutomation(cfg, p, log, metrics);
    const down = linkEvent("eth7", false);
    emit(linkEvent("eth7", true));
    emit(down);
    emit(routeEvent("new", "10.1.0.0/16"));
    await until(() => metrics.hookRuns.get({ hook: "link_down", result: "ok" }), (v) => v >= 1);
    await Bun.sleep(200);
    expect(metrics.hookRuns.get({ hook: "link_down", result: "ok" })).toBe(1);
    const stdin = runsIn(out, "stdin");
    expect(stdin).toEqual([serialise(down) + "\n"]);
    expect(JSON.parse(stdin[0]!).netlink.link.ifname).toBe("eth7");
    const env = envOf(runsIn(out, "env")[0]!);
    expect(env).toMatchObject({
      NLMON_HOOK: "link_down", NLMON_EVENT_TYPE: "link", NLMON_MSG_TYPE: "RTM_NEWLINK", NLMON_PROTOCOL: "NETLINK_ROUTE",
      NLMON_IFNAME: "eth7", NLMON_IFINDEX: "7", NLMON_OPERSTATE: "DOWN", NLMON_FLAGS: "BROADCAST,MULTICAST", NLMON_MTU: "1500",
    });
    expect(env.NLMON_TIMESTAMP).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // no shell: the argument arrives as written and nothing in it ran
    expect(runsIn(out, "argv")).toEqual([`literal $(touch ${out}/pwned) ;|&\n`]);
    expect(existsSync(join(out, "pwned"))).toBe(false);
    await a.stop();
  });

  test("shell: runs the line with /bin/sh -c", async () => {
    const out = sub("shell");
    const cfg = config(`
hooks:
  - name: routes
    when: type == route && netlink.route.table == 10
    shell: 'echo "$NLMON_DST via $NLMON_GATEWAY table $NLMON_TABLE" >> ${out}/log'
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(routeEvent("new", "172.20.10.0/24", { table: 10 }));
    emit(routeEvent("new", "172.20.11.0/24", { table: 11 }));
    await until(() => metrics.hookRuns.get({ hook: "routes", result: "ok" }), (v) => v >= 1);
    expect(readFileSync(join(out, "log"), "utf8")).toBe("172.20.10.0/24 via 10.9.0.2 table 10\n");
    await a.stop();
  });

  test("hooks see events the global filter drops", async () => {
    const { script, out } = recorder();
    const cfg = config(`
hooks:
  - name: any_link
    when: type == link
    command: ["${script}"]
`);
    const { p, emit, metrics, seen } = pipeline({ filter: () => false });
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(linkEvent("eth1", true));
    await until(() => metrics.hookRuns.get({ hook: "any_link", result: "ok" }), (v) => v >= 1);
    expect(seen.filter((e) => e.type === "link")).toEqual([]);
    expect(runsIn(out, "stdin").length).toBe(1);
    await a.stop();
  });

  test("a failing command is counted failed and its stderr logged", async () => {
    const cfg = config(`
hooks:
  - name: broken
    when: type == link
    shell: 'echo "no such table" >&2; exit 3'
`);
    const { p, emit, metrics } = pipeline();
    const { log, lines } = memLog();
    const a = startAutomation(cfg, p, log, metrics);
    emit(linkEvent("eth1", true));
    await until(() => metrics.hookRuns.get({ hook: "broken", result: "failed" }), (v) => v >= 1);
    expect(metrics.hookRuns.get({ hook: "broken", result: "failed" })).toBe(1);
    expect(lines.join("\n")).toContain("warn: hooks: broken: exit status 3; stderr: no such table");
    const st = a.status().hooks[0] as { runs: Record<string, number>; last: { result: string; code: number } };
    expect(st.runs.failed).toBe(1);
    expect(st.last).toMatchObject({ result: "failed", code: 3 });
    await a.stop();
  });
});

describe("timeouts kill the hook's whole process group", () => {
  test("a sleep 100 child and its own child are both gone after timeout_ms", async () => {
    const out = sub("timeout");
    // hook (sh) -> child sh -> grandchild sleep; each writes its pid
    const cfg = config(`
hooks:
  - name: slow
    when: type == link
    timeout_ms: 300
    shell: 'sh -c "sleep 100 & echo \\$! > ${out}/grandchild; wait" & echo $! > ${out}/child; echo $$ > ${out}/leader; wait'
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    const t0 = Date.now();
    emit(linkEvent("eth1", true));
    const pids = await until(() => ["leader", "child", "grandchild"].map((f) => {
      try { return Number(readFileSync(join(out, f), "utf8")); } catch { return 0; }
    }), (v) => v.every((x) => x > 0 && alive(x)), 3000);
    expect(pids.every((x) => x > 0)).toBe(true);
    expect(pids.every(alive)).toBe(true);
    await until(() => metrics.hookRuns.get({ hook: "slow", result: "timeout" }), (v) => v >= 1, 15_000);
    expect(metrics.hookRuns.get({ hook: "slow", result: "timeout" })).toBe(1);
    // killed at its timeout, not when its sleep of 100 s would have ended
    expect(Date.now() - t0).toBeLessThan(15_000);
    await until(() => pids.filter(alive), (v) => v.length === 0, 2000);
    expect(pids.filter(alive)).toEqual([]);
    expect((a.status().hooks[0] as { running: number }).running).toBe(0);
    await a.stop();
  });

  test("a group that ignores SIGTERM is killed with SIGKILL", async () => {
    const out = sub("term");
    const cfg = config(`
hooks:
  - name: stubborn
    when: type == link
    timeout_ms: 200
    shell: 'trap "" TERM; sleep 100 & echo $! > ${out}/child; wait; wait'
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    emit(linkEvent("eth1", true));
    const child = await until(() => { try { return Number(readFileSync(join(out, "child"), "utf8")); } catch { return 0; } }, (v) => v > 0, 3000);
    await until(() => metrics.hookRuns.get({ hook: "stubborn", result: "timeout" }), (v) => v >= 1, 5000);
    expect(metrics.hookRuns.get({ hook: "stubborn", result: "timeout" })).toBe(1);
    await until(() => alive(child), (v) => !v, 2000);
    expect(alive(child)).toBe(false);
    await a.stop();
  });
});

describe("limits drop runs and count them, never queue", () => {
  test("max_concurrent 1 with a slow hook: later runs are dropped_busy", async () => {
    const out = sub("busy");
    const cfg = config(`
hooks:
  - name: one_at_a_time
    when: type == link
    max_concurrent: 1
    shell: 'echo $$ >> ${out}/runs; sleep 0.4'
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    for (let i = 0; i < 5; i++) emit(linkEvent(`eth${i}`, true));
    expect(metrics.hookRuns.get({ hook: "one_at_a_time", result: "dropped_busy" })).toBe(4);
    expect((a.status().hooks[0] as { running: number }).running).toBe(1);
    await until(() => metrics.hookRuns.get({ hook: "one_at_a_time", result: "ok" }), (v) => v >= 1, 5000);
    // the slot is free again: the next event runs
    emit(linkEvent("eth9", true));
    await until(() => metrics.hookRuns.get({ hook: "one_at_a_time", result: "ok" }), (v) => v >= 2, 5000);
    expect(readFileSync(join(out, "runs"), "utf8").trim().split("\n").length).toBe(2);
    expect(metrics.hookRuns.get({ hook: "one_at_a_time", result: "dropped_busy" })).toBe(4);
    await a.stop();
  });

  test("rate_limit: runs beyond it per second are dropped_rate", async () => {
    const out = sub("rate");
    const cfg = config(`
hooks:
  - name: two_a_second
    when: type == route
    rate_limit: 2
    max_concurrent: 100
    shell: 'echo "$NLMON_DST" >> ${out}/runs'
`);
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(cfg, p, memLog().log, metrics);
    for (let i = 0; i < 10; i++) emit(routeEvent("new", `10.${i}.0.0/16`));
    expect(metrics.hookRuns.get({ hook: "two_a_second", result: "dropped_rate" })).toBe(8);
    await Bun.sleep(600);
    // half a second at 2/s is one more run
    emit(routeEvent("new", "10.99.0.0/16"));
    emit(routeEvent("new", "10.98.0.0/16"));
    expect(metrics.hookRuns.get({ hook: "two_a_second", result: "dropped_rate" })).toBe(9);
    await until(() => metrics.hookRuns.get({ hook: "two_a_second", result: "ok" }), (v) => v >= 3, 5000);
    expect(readFileSync(join(out, "runs"), "utf8").trim().split("\n").sort()).toEqual(["10.0.0.0/16", "10.1.0.0/16", "10.99.0.0/16"]);
    await a.stop();
  });
});

describe("a hook that cannot run is an error at start", () => {
  const base = `
hooks:
  - name: fine
    when: type == link
    command: ["true"]
`;
  test("a command not found names the hook by index and name", () => {
    const cfg = config(base + `  - name: typo
    when: type == link
    command: ["nlmon-no-such-command", "x"]
`);
    expect(checkAutomation(cfg)).toEqual(["hooks[1] (typo): command 'nlmon-no-such-command' not found (searched PATH)"]);
    const { p, metrics } = pipeline();
    expect(() => startAutomation(cfg, p, memLog().log, metrics)).toThrow(AutomationConfigError);
    expect(() => startAutomation(cfg, p, memLog().log, metrics)).toThrow("hooks[1] (typo): command 'nlmon-no-such-command' not found");
  });

  test("a path that is missing, not executable or a directory", () => {
    const d = sub("paths");
    const plain = join(d, "plain.sh");
    writeFileSync(plain, "#!/bin/sh\n");
    chmodSync(plain, 0o644);
    const cfg = config(`
hooks:
  - {name: a, when: type == link, command: ["${d}/missing"]}
  - {name: b, when: type == link, command: ["${plain}"]}
  - {name: c, when: type == link, command: ["${d}"]}
`);
    expect(checkAutomation(cfg)).toEqual([
      `hooks[0] (a): command '${d}/missing' not found`,
      `hooks[1] (b): command '${plain}' is not executable`,
      `hooks[2] (c): command '${d}' is a directory`,
    ]);
  });

  test("a condition that does not parse is a config error at its place in the file", () => {
    expect(() => config(`
hooks:
  - {name: bad_when, when: "netlink.link.ifnmae == eth0", command: ["true"]}
`)).toThrow("test.yaml:3:42: hooks[0].when: unknown field 'netlink.link.ifnmae'");
  });

  test("command and shell, neither, a bad condition (in a config not read from a file), a name used twice", () => {
    const cfg = config(`
hooks:
  - {name: both, when: type == link, command: ["true"], shell: "true"}
  - {name: neither, when: type == link}
  - {name: bad_when, when: "type == link", command: ["true"]}
  - {name: both, when: type == link, command: ["true"]}
`);
    cfg.hooks[2]!.when = "netlink.link.ifnmae == eth0";
    const problems = checkAutomation(cfg);
    expect(problems[0]).toBe("hooks[0] (both): both command and shell are given; keep one");
    expect(problems[1]).toBe("hooks[1] (neither): needs a command (an argv list, run without a shell) or a shell command line");
    expect(problems[2]).toStartWith("hooks[2] (bad_when): when: unknown field 'netlink.link.ifnmae'");
    expect(problems[2]).toContain("did you mean 'ifname'?");
    expect(problems[3]).toStartWith("hooks[3] (both): name already used by hooks[0] (both)");
  });

  test("a reload with a broken hook keeps the running set", async () => {
    const { script, out } = recorder();
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(config(`
hooks:
  - {name: keep, when: type == link, command: ["${script}"]}
`), p, memLog().log, metrics);
    expect(() => a.reload(config(`
hooks:
  - {name: keep, when: type == link, command: ["/nonexistent/nlmon-hook"]}
`))).toThrow("hooks[0] (keep): command '/nonexistent/nlmon-hook' not found");
    emit(linkEvent("eth1", true));
    await until(() => metrics.hookRuns.get({ hook: "keep", result: "ok" }), (v) => v >= 1);
    expect(runsIn(out, "stdin").length).toBe(1);
    await a.stop();
  });
});

describe("reload and status", () => {
  test("a reload adds a hook to a pipeline that had none; counters carry over by name", async () => {
    const out = sub("reload");
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(config(""), p, memLog().log, metrics);
    emit(linkEvent("eth1", true));
    expect(a.status()).toEqual({ hooks: [], alerts: [] });
    a.reload(config(`
hooks:
  - {name: h, when: type == link, shell: 'echo 1 >> ${out}/runs'}
`));
    emit(linkEvent("eth1", true));
    await until(() => metrics.hookRuns.get({ hook: "h", result: "ok" }), (v) => v >= 1);
    a.reload(config(`
hooks:
  - {name: h, when: type == route, shell: 'echo 2 >> ${out}/runs'}
`));
    emit(linkEvent("eth1", true));
    emit(routeEvent("new", "10.0.0.0/8"));
    await until(() => metrics.hookRuns.get({ hook: "h", result: "ok" }), (v) => v >= 2);
    expect(readFileSync(join(out, "runs"), "utf8")).toBe("1\n2\n");
    const st = a.status().hooks as { name: string; when: string; runs: Record<string, number> }[];
    expect(st).toHaveLength(1);
    expect(st[0]).toMatchObject({ name: "h", when: "type == route", runs: { ok: 2, failed: 0, timeout: 0, dropped_busy: 0, dropped_rate: 0 } });
    await a.stop();
  });

  test("stop() kills runs that outlive its grace", async () => {
    const out = sub("stop");
    const { p, emit, metrics } = pipeline();
    const a = startAutomation(config(`
hooks:
  - {name: long, when: type == link, timeout_ms: 600000, shell: 'echo $$ > ${out}/pid; exec sleep 100'}
`), p, memLog().log, metrics);
    emit(linkEvent("eth1", true));
    const pid = await until(() => { try { return Number(readFileSync(join(out, "pid"), "utf8")); } catch { return 0; } }, (v) => v > 0);
    expect(alive(pid)).toBe(true);
    const t0 = Date.now();
    await a.stop();
    // stop does not wait out the 600 s timeout (nor the 100 s sleep)
    expect(Date.now() - t0).toBeLessThan(20_000);
    await until(() => alive(pid), (v) => !v, 2000);
    expect(alive(pid)).toBe(false);
  });
});

describe("the environment", () => {
  test("every variable eventEnv sets is in the documented set, and docs/EVENT_HOOKS.md lists the set", () => {
    const evs = [linkEvent("eth0", false), routeEvent("del", "10.0.0.0/8", { implicit: true, table: 10, protocol: 201 })];
    for (const ev of evs) for (const k of Object.keys(eventEnv(ev))) expect(Object.keys(EVENT_ENV)).toContain(k);
    expect(eventEnv(evs[1]!)).toMatchObject({ NLMON_IMPLICIT: "1", NLMON_TABLE: "10", NLMON_ROUTE_PROTOCOL: "201", NLMON_DST: "10.0.0.0/8" });
    const doc = readFileSync(join(import.meta.dir, "../../docs/EVENT_HOOKS.md"), "utf8");
    const listed = [...doc.matchAll(/^\| `(NLMON_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.keys(EVENT_ENV));
  });

  test("variables inherited from nlmon's environment do not pose as the event's", async () => {
    const out = sub("inherit");
    process.env.NLMON_IFNAME = "stale0";
    process.env.NLMON_TEST_KEEP = "kept";
    (await import("../../src/hooks/env.ts")).resetBaseEnv();
    try {
      const { p, emit, metrics } = pipeline();
      const a = startAutomation(config(`
hooks:
  - {name: r, when: type == route, shell: 'echo "[$NLMON_IFNAME][$NLMON_TEST_KEEP]" > ${out}/env'}
`), p, memLog().log, metrics);
      const ev = routeEvent("new", "10.0.0.0/8");
      delete ev.netlink.route!.dev;
      emit(ev);
      await until(() => metrics.hookRuns.get({ hook: "r", result: "ok" }), (v) => v >= 1);
      expect(readFileSync(join(out, "env"), "utf8")).toBe("[][kept]\n");
      await a.stop();
    } finally {
      delete process.env.NLMON_IFNAME;
      delete process.env.NLMON_TEST_KEEP;
      (await import("../../src/hooks/env.ts")).resetBaseEnv();
    }
  });
});
