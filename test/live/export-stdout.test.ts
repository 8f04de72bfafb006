/**
 * A reader of nlmon's stdout that goes away, as `nlmon | head -1` does, through a real shell
 * pipeline: with nothing else to export to, nlmon ends with status 0 (both backends); with another
 * export enabled, the stdout export is dropped with one line and nlmon goes on serving it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { curlNs, parseExposition, sumOf } from "./collectors.ts";
import {
  BACKENDS, BIN, delNs, ensureBinary, ensureLibnl, ensureTool, ip, Lines, must, nsName, sleep, tempDir, textOf, until, writeConfig,
} from "./lib.ts";

const ns = nsName("stdout");
let dir = "";

beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  dir = tempDir("stdout");
  must(["ip", "netns", "add", ns]);
  ip(ns, "link", "set", "lo", "up");
}, 600_000);

afterAll(() => {
  delNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let routes = 0;
/** a route change nlmon reports: one event on its stdout */
function change() {
  const n = ++routes;
  ip(ns, "route", "add", `192.0.2.${n & 255}/32`, "dev", "lo", "table", `${100 + (n >> 8)}`);
}

interface Piped {
  /** nlmon's exit status as the shell saw it, once it has ended */
  rc(): string | undefined;
  pid(): number;
  out(): string;
  err(): string;
  shell: Bun.Subprocess;
}

/** `nlmon [--config C] | head -1` in the namespace, by bash, with nlmon's pid, stderr and status kept */
function pipeToHead(tag: string, env: Record<string, string>, config?: string): Piped {
  const f = (n: string) => join(dir, `${tag}.${n}`);
  const args = config ? ` --config ${config}` : "";
  // the subshell's pid is nlmon's: exec ip, which execs nlmon
  const script = `(echo $BASHPID > ${f("pid")}; exec ip netns exec ${ns} ${BIN}${args} 2>${f("err")}) | head -1 > ${f("out")}; ` +
    `echo "\${PIPESTATUS[0]}" > ${f("rc")}`;
  const shell = Bun.spawn(["bash", "-c", script], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  const read = (n: string) => (existsSync(f(n)) ? readFileSync(f(n), "utf8") : "");
  return {
    shell,
    rc: () => (existsSync(f("rc")) ? read("rc").trim() : undefined),
    pid: () => Number(read("pid").trim()),
    out: () => read("out"),
    err: () => read("err"),
  };
}

/** nlmon gone, and the shell with it, whatever the test saw: a failing run leaves nothing behind */
async function reap(p: Piped) {
  if (p.rc() === undefined) {
    try {
      process.kill(p.pid(), "SIGKILL");
    } catch {
      // already ended
    }
  }
  await p.shell.exited;
}

/** route changes, one every 200 ms, until `done` holds or the time is up */
async function changeUntil(done: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) {
    change();
    await sleep(200);
  }
}

describe("stdout's reader goes away", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: nlmon | head -1 ends, status 0, without a retry message`, async () => {
      const p = pipeToHead(`alone-${b.name}`, b.env);
      try {
        await changeUntil(() => p.out() !== "", 15_000);
        const firstAt = Date.now();
        expect(JSON.parse(p.out()).type).toBe("route");
        // the next event's write finds the pipe closed
        await changeUntil(() => p.rc() !== undefined, 20_000);
        expect(p.rc()).toBe("0");
        // on the next write, not after some retry period
        expect(Date.now() - firstAt).toBeLessThan(15_000);
        expect(p.err()).not.toContain("EPIPE");
        expect(p.err()).not.toContain("will retry");
        expect(p.err()).not.toContain("not delivered");
      } finally {
        await reap(p);
      }
    }, 60_000);
  }

  test("with Prometheus enabled too: one line, the stdout export dropped, nlmon goes on", async () => {
    const port = 19_191;
    const cfg = writeConfig(dir, "prom.yaml", `export:\n  json: { enabled: true, file: "-" }\n  prometheus: { enabled: true, port: ${port} }\n`);
    const p = pipeToHead("prom", {}, cfg);
    const metric = () => {
      const r = curlNs(ns, `http://127.0.0.1:${port}/metrics`);
      return r.code === 200 ? sumOf(parseExposition(r.body), "nlmon_events_total") : -1;
    };
    try {
      await changeUntil(() => p.err().includes("standard output closed"), 20_000);
      expect(p.out().split("\n").filter(Boolean).length).toBe(1);
      const before = metric();
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) change();
      await changeUntil(() => metric() >= before + 5, 5000);
      expect(metric()).toBeGreaterThanOrEqual(before + 5);
      expect(p.rc()).toBeUndefined();
      const lines = p.err().split("\n").filter((l) => /standard output|EPIPE|json/.test(l));
      expect(lines).toEqual(["nlmon: warn: export: export json: standard output closed; export dropped, nlmon goes on with prometheus"]);
      process.kill(p.pid(), "SIGTERM");
      await changeUntil(() => p.rc() !== undefined, 10_000);
      expect(p.rc()).toBe("0");
    } finally {
      await reap(p);
    }
  }, 60_000);
});

test("pcap to standard output starts with its file header: tshark reads the stream", async () => {
  // the JSON file says when the route change has been through the pipeline, the pcap's too
  const seen = join(dir, "pcap-stdout.json");
  const cfg = writeConfig(dir, "pcap-stdout.yaml", `export:\n  json: { enabled: true, file: ${seen} }\n  pcap: { enabled: true, file: "-" }\n`);
  const out = join(dir, "stream.pcap");
  const mon = Bun.spawn(["bash", "-c", `exec ip netns exec ${ns} ${BIN} --config ${cfg} > ${out}`], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const err = new Lines(mon.stderr);
  try {
    expect(await err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
    change();
    const dst = `"dst":"192.0.2.${routes & 255}/32"`;
    expect(await until(() => textOf(seen), (t) => t.includes(dst), 15_000, 50)).toContain(dst);
  } finally {
    mon.kill("SIGTERM");
    await mon.exited;
  }
  ensureTool("tshark", "tshark");
  const r = must(["tshark", "-r", out, "-T", "fields", "-e", "netlink-route.nltype"]);
  // RTM_NEWROUTE (24) among the records: the whole stream parsed, the route change included
  expect(r.split("\n").filter((l) => l.trim() === "24").length).toBeGreaterThanOrEqual(1);
}, 60_000);
