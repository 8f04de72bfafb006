/**
 * Daemons opening the same control socket path at once, on a dead daemon's socket file. Within one
 * process each open's liveness probe yields to the event loop, so every open looks at the dead
 * socket before any removes it: without the start-up lock the later ones unlink the socket an
 * earlier one has just bound, and that one is left unreachable without knowing it.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlServer } from "../../src/control/server.ts";

const dir = mkdtempSync(join(tmpdir(), "nlmon-ctlrace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a unix socket bound by a process that has exited: a dead daemon's file */
function deadSocket(path: string) {
  const r = Bun.spawnSync(["python3", "-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
  expect(r.exitCode).toBe(0);
  expect(statSync(path).isSocket()).toBe(true);
}

async function ask(path: string): Promise<string> {
  let got = "";
  const s = await Bun.connect({ unix: path, socket: { data(_s, d) { got += d.toString(); } } });
  s.write('{"cmd":"ping"}\n');
  for (let i = 0; i < 100 && !got.includes("\n"); i++) await Bun.sleep(10);
  s.end();
  return got.trim();
}

test("eight opens at once: one listens and answers, seven say another nlmon answers there, no lock file left", async () => {
  const path = join(dir, "c.sock");
  deadSocket(path);
  const warnings: string[][] = [];
  const opened = await Promise.all(Array.from({ length: 8 }, (_, i) => {
    warnings[i] = [];
    const log = { info() {}, debug() {}, warn: (m: string) => warnings[i]!.push(m) };
    return ControlServer.open(path, { status: () => ({ ok: true }), ping: () => ({ ok: true, pong: true as const }) }, log);
  }));
  const listening = opened.filter((s) => s !== undefined);
  try {
    expect(listening).toHaveLength(1);
    const owner = opened.findIndex((s) => s !== undefined);
    expect(warnings[owner]).toEqual([]);
    for (let i = 0; i < 8; i++) {
      if (i === owner) continue;
      expect(warnings[i]).toHaveLength(1);
      expect(warnings[i]![0]).toContain(`control socket ${path}: another nlmon is running and answers there`);
    }
    // the file at the path is the owner's socket
    expect(JSON.parse(await ask(path))).toEqual({ ok: true, pong: true });
    expect(existsSync(`${path}.lock`)).toBe(false);
  } finally {
    for (const s of listening) s!.stop();
  }
  expect(existsSync(path)).toBe(false);
});

test("a lock left by a process that is gone is taken over", async () => {
  const path = join(dir, "d.sock");
  // a pid no process has: the first beyond the kernel's limit
  const max = Number(await Bun.file("/proc/sys/kernel/pid_max").text());
  await Bun.write(`${path}.lock`, `${max + 1}\n`);
  const warned: string[] = [];
  const s = await ControlServer.open(path, { status: () => ({ ok: true }), ping: () => ({ ok: true, pong: true as const }) }, { info() {}, debug() {}, warn: (m) => warned.push(m) });
  try {
    expect(warned).toEqual([]);
    expect(s).toBeDefined();
    expect(existsSync(`${path}.lock`)).toBe(false);
  } finally {
    s?.stop();
  }
});
