// nlmon's own log: levels per module changed at run time, syslog as a target (a datagram socket the
// test binds), module names checked by the config with a suggestion, libnl's debug output by NLDBG.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LOG_MODULES, type LoggingConfig } from "../../src/config/types.ts";
import { Log, syslogLine } from "../../src/log.ts";
import { config, dgramListener, until } from "./hooks-helpers.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const dir = mkdtempSync(join(tmpdir(), "nlmon-logging-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const logging = (o: Partial<LoggingConfig>): LoggingConfig => ({ level: "info", modules: {}, target: "stderr", ...o });

/** what `fn` writes to stderr, instead of writing it */
function stderrOf(fn: () => void): string {
  const orig = process.stderr.write.bind(process.stderr);
  let out = "";
  (process.stderr as { write: unknown }).write = (s: string | Uint8Array) => {
    out += typeof s === "string" ? s : new TextDecoder().decode(s);
    return true;
  };
  try {
    fn();
  } finally {
    (process.stderr as { write: unknown }).write = orig;
  }
  return out;
}

function cli(args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([BUN, join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("levels", () => {
  test("configure() changes the level and the per-module levels while running", () => {
    const log = new Log("info");
    const before = stderrOf(() => {
      log.debug("netlink", "hidden");
      log.info("netlink", "shown");
    });
    expect(before).toBe("nlmon: netlink: shown\n");
    log.configure(logging({ level: "warn", modules: { netlink: "debug" } }));
    const after = stderrOf(() => {
      log.debug("netlink", "now shown");
      log.info("cache", "now hidden");
      log.warn("cache", "a warning");
      log.trace("netlink", "still hidden");
    });
    expect(after).toBe("nlmon: debug: netlink: now shown\nnlmon: warn: cache: a warning\n");
  });

  test("the library API's form, level and modules, still works", () => {
    const log = new Log("info");
    log.configure("error", { hooks: "info" });
    expect(stderrOf(() => { log.info("hooks", "h"); log.warn("main", "m"); })).toBe("nlmon: hooks: h\n");
  });
});

describe("logging.target: syslog", () => {
  test("lines go to the socket as RFC 5424, facility daemon, severity from the level, module as MSGID", async () => {
    const sock = join(dir, "log1.sock");
    const rx = dgramListener(sock);
    const log = new Log("info", {}, { syslogPath: sock });
    log.configure(logging({ level: "debug", target: "syslog" }));
    const err = stderrOf(() => {
      log.error("netlink", "socket gone");
      log.warn("export", "queue full");
      log.info("main", "started");
      log.debug("hooks", "ran");
      log.trace("hooks", "not at this level");
    });
    expect(err).toBe("");
    const got = rx.drain();
    const head = (pri: number, mod: string) => new RegExp(`^<${pri}>1 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\S+ nlmon ${process.pid} ${mod} - `);
    expect(got).toHaveLength(4);
    expect(got[0]).toMatch(head(27, "netlink"));
    expect(got[0]).toEndWith(" - socket gone");
    expect(got[1]).toMatch(head(28, "export"));
    expect(got[2]).toMatch(head(30, "main"));
    expect(got[3]).toMatch(head(31, "hooks"));
    // back to stderr on a reload
    log.configure(logging({ target: "stderr" }));
    expect(stderrOf(() => log.info("main", "here again"))).toBe("nlmon: main: here again\n");
    expect(rx.drain()).toEqual([]);
    rx.close();
  });

  test("NLMON_LOG_SOCKET names the socket when nothing else does", () => {
    const sock = join(dir, "log2.sock");
    const rx = dgramListener(sock);
    process.env.NLMON_LOG_SOCKET = sock;
    try {
      const log = new Log();
      log.configure(logging({ target: "syslog" }));
      log.info("config", "from the environment");
    } finally {
      delete process.env.NLMON_LOG_SOCKET;
    }
    expect(rx.drain()).toEqual([expect.stringMatching(/ nlmon \d+ config - from the environment$/)]);
    rx.close();
  });

  test("no daemon listening: one warning, then the lines go to stderr", () => {
    const log = new Log("info", {}, { syslogPath: join(dir, "nobody.sock") });
    log.configure(logging({ target: "syslog" }));
    const err = stderrOf(() => {
      log.warn("main", "first");
      log.warn("main", "second");
    });
    const lines = err.trim().split("\n");
    expect(lines[0]).toStartWith(`nlmon: warn: main: logging.target syslog: connect ${join(dir, "nobody.sock")}: ENOENT`);
    expect(lines.slice(1)).toEqual(["nlmon: warn: main: first", "nlmon: warn: main: second"]);
  });

  test("syslogLine's header", () => {
    const line = new TextDecoder().decode(syslogLine("warn", "alerts", "x", new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))));
    expect(line).toMatch(new RegExp(`^<28>1 2024-01-02T03:04:05\\.678Z \\S+ nlmon ${process.pid} alerts - x$`));
  });

  test("the daemon's own log follows the config: nlmon --dump-cache's warning arrives on the socket", async () => {
    const sock = join(dir, "log3.sock");
    const rx = dgramListener(sock);
    const cfgPath = join(dir, "syslog.yaml");
    writeFileSync(cfgPath, `
netlink:
  use_libnl: false
  caching: {enabled: false}
logging:
  target: syslog
`);
    const r = cli(["--config", cfgPath, "--dump-cache"], { NLMON_LOG_SOCKET: sock });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const got = rx.drain();
    expect(got[0]).toMatch(/^<28>1 \S+ \S+ nlmon \d+ cache - no cache is enabled \(netlink\.caching\): nothing to print$/);
    // and what it says at info, as severity info
    expect(got.slice(1)).toContainEqual(expect.stringMatching(/^<30>1 \S+ \S+ nlmon \d+ netlink - NETLINK_ROUTE: backend legacy/));
    rx.close();
  });
});

describe("module names", () => {
  test("a misspelt module is a config error with the closest name", () => {
    expect(() => config("logging:\n  modules:\n    netlnk: debug\n")).toThrow("test.yaml:3:5: logging.modules.netlnk: unknown name; did you mean 'netlink'?");
    expect(() => config("logging:\n  modules:\n    zzzzzzzz: debug\n")).toThrow(`unknown name (allowed: ${LOG_MODULES.join(", ")})`);
  });

  test("nlmon exits 2 and says so", () => {
    const cfgPath = join(dir, "misspelt.yaml");
    writeFileSync(cfgPath, "logging:\n  modules:\n    alrets: debug\n");
    const r = cli(["--config", cfgPath, "--dump-events"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`nlmon: config error:\n${cfgPath}:3:5: logging.modules.alrets: unknown name; did you mean 'alerts'?\n`);
  });

  test("every module nlmon logs under is one the config accepts", () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ts$/.test(e) && !e.endsWith(".gen.ts")) files.push(p);
      }
    };
    walk(join(ROOT, "src"));
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/\b(?:log|this\.log|o\.log|deps\.log|this\.o\.log)\??\.(?:error|warn|info|debug|trace|as)\(\s*"([a-z_0-9]+)"/g)) used.add(m[1]!);
      for (const m of text.matchAll(/\.enabled\(\s*"[a-z]+",\s*"([a-z_0-9]+)"/g)) used.add(m[1]!);
    }
    // the walk finds the calls it is meant to find
    expect([...used]).toEqual(expect.arrayContaining(["netlink", "hooks", "alerts", "cache", "main"]));
    expect([...used].filter((m) => !(LOG_MODULES as readonly string[]).includes(m))).toEqual([]);
  });
});

describe("libnl's own debug output", () => {
  const cfg = (libnl: string) => {
    const p = join(dir, `libnl-${libnl}.yaml`);
    writeFileSync(p, `netlink:\n  use_libnl: true\n  libnl: {fallback: none}\nlogging:\n  modules:\n    ${libnl === "none" ? "netlink: info" : `libnl: ${libnl}`}\n`);
    return p;
  };

  test("logging.modules.libnl: trace sets NLDBG before libnl loads; without it libnl is quiet", () => {
    const on = cli(["--config", cfg("trace"), "--dump-events"]);
    expect(on.code).toBe(0);
    expect(on.err).toMatch(/^DBG<\d>/m);
    // level 4 (trace) includes the sends
    expect(on.err).toContain("nl_sendmsg");
    const off = cli(["--config", cfg("none"), "--dump-events"]);
    expect(off.code).toBe(0);
    expect(off.err).not.toMatch(/DBG</);
    // the same events either way
    expect(on.out.split("\n").length).toBe(off.out.split("\n").length);
  });

  test("debug is libnl's level 1; an NLDBG already exported wins", () => {
    const debug = cli(["--config", cfg("debug"), "--dump-events"]);
    expect(debug.err).toMatch(/^DBG<1>/m);
    expect(debug.err).not.toMatch(/^DBG<[234]>/m);
    const user = cli(["--config", cfg("trace"), "--dump-events"], { NLDBG: "0" });
    expect(user.code).toBe(0);
    expect(user.err).not.toMatch(/DBG</);
  });
});

test("until() gives up (the helpers the tests lean on can fail)", async () => {
  expect(await until(() => 1, (v) => v > 1, 30)).toBe(1);
});
