/**
 * --status against a real daemon in a namespace, and its control socket against clients that
 * break the protocol. The numbers are checked against what the test did: the routes it added,
 * the links the kernel lists, the file's own sha256. Each daemon has a control socket of the
 * test's own (control.socket), so a daemon running elsewhere on the host changes nothing.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatusReport } from "../../src/control/protocol.ts";
import { type Child, ip, ipBatch, liveFile, must, run, runNlmon, sleep, started, startNlmon, writeConfig } from "./lib.ts";

const { dir, freshNs, children } = liveFile("status");


function status(cfg: string, json = false) {
  return runNlmon({ args: ["--config", cfg, "--status", ...(json ? ["--json"] : [])] });
}


/** wait until the daemon answers on its socket (it opens it once the sockets are open) */
async function answering(cfg: string): Promise<StatusReport> {
  for (const end = Date.now() + 10_000; Date.now() < end; await sleep(50)) {
    const r = status(cfg, true);
    if (r.code === 0) return JSON.parse(r.out) as StatusReport;
  }
  throw new Error(`no answer on the control socket: ${status(cfg).err}`);
}

/** one raw exchange on the control socket: what comes back, and whether the daemon closed it */
/**
 * Write to the control socket and collect the answer: until `lines` whole lines came (1 unless
 * told), or with `untilClose` until the daemon hangs up, at most waitMs (5 s unless told).
 */
async function exchange(path: string, data: Uint8Array | string, o: { waitMs?: number; end?: boolean; lines?: number; untilClose?: boolean } = {}) {
  let got = "";
  let closedByPeer = false;
  let ended = false;
  const s = await Bun.connect({
    unix: path,
    socket: {
      data(_s, d) { got += d.toString(); },
      close() { if (!ended) closedByPeer = true; },
    },
  });
  s.write(data);
  if (o.end) {
    ended = true;
    s.end();
    return { got: "", closedByPeer: false };
  }
  const answered = () => !o.untilClose && got.split("\n").length - 1 >= (o.lines ?? 1);
  for (const end = Date.now() + (o.waitMs ?? 5000); Date.now() < end && !closedByPeer && !answered();) await sleep(20);
  const closed = closedByPeer;
  ended = true;
  s.end();
  return { got, closedByPeer: closed };
}

describe("--status", () => {
  test("no daemon: exit 1, naming the socket tried", () => {
    const sock = join(dir, "none.sock");
    const cfg = writeConfig(dir, "none.yaml", `control: { socket: ${sock} }\n`);
    const r = status(cfg);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no nlmon daemon is running: nothing answers on ${sock}`);
    expect(r.out).toBe("");
    // a dead daemon's socket file is no daemon either
    const dead = join(dir, "dead.sock");
    const py = run(["python3", "-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(dead)})`]);
    expect(py.code).toBe(0);
    expect(statSync(dead).isSocket()).toBe(true);
    const cfg2 = writeConfig(dir, "dead.yaml", `control: { socket: ${dead} }\n`);
    const r2 = status(cfg2);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain(`nothing answers on ${dead}`);
  });

  test("a live daemon: sections in order, numbers matching what was done, JSON the same", async () => {
    const ns = freshNs("st");
    const sock = join(dir, "live.sock");
    const text = `control: { socket: ${sock} }\nfilter: "type != neigh"\nnetlink:\n  caching: { route_cache: true }\n`;
    const cfg = writeConfig(dir, "live.yaml", text);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    await answering(cfg);
    expect(statSync(sock).mode & 0o777).toBe(0o600);

    const N = 120;
    ipBatch(ns, Array.from({ length: N }, (_, i) => `route add 172.31.${i >> 8}.${i & 255}/32 dev lo table 50`));
    for (let i = 0; i < 100 && mon.out.lines.filter((l) => l.includes('"table":50')).length < N; i++) await sleep(50);
    expect(mon.out.lines.filter((l) => l.includes('"table":50')).length).toBe(N);

    const r = status(cfg);
    expect(r.code).toBe(0);
    const sections = r.out.split("\n").filter((l) => /^\S/.test(l));
    expect(sections).toEqual(["Netlink Protocols", "Caches", "Filters", "Hooks and Alerts", "Exports", "Process"]);
    // the guide's `nlmon --status | grep -A 10 "Netlink Protocols"` shows the route protocol whole
    const guide = r.out.split("\n").slice(0, 11).join("\n");
    expect(guide).toMatch(/NETLINK_ROUTE: backend libnl \(libnl-3\.so\.200/);
    expect(guide).toMatch(/messages \d+, events \d+, decode errors 0, ENOBUFS 0, resyncs 0/);
    expect(guide).toContain("last message: 20");

    const j = JSON.parse(status(cfg, true).out) as StatusReport;
    const route = j.protocols.find((p) => p.protocol === "NETLINK_ROUTE")!;
    expect(route.backend).toBe("libnl");
    expect(route.groups).toContain("ipv4_route");
    expect(route.groups.length).toBe(15);
    expect(route.events).toBeGreaterThanOrEqual(N);
    expect(route.messages).toBeGreaterThanOrEqual(route.events);
    expect(route.decode_errors).toBe(0);
    expect(route.receive_buffer).toEqual({ bytes: 33554432, configured: 33554432, forced: true });
    expect(Date.parse(route.last_message!)).toBeGreaterThan(Date.now() - 60_000);
    // the text says the same numbers
    expect(r.out).toContain(`events ${route.events},`);

    // caches: against what the kernel lists
    const links = JSON.parse(must(["ip", "-n", ns, "-j", "link", "show"])) as unknown[];
    expect(j.caches.find((c) => c.cache === "link")!.objects).toBe(links.length);
    const routes = j.caches.find((c) => c.cache === "route")!.objects;
    expect(routes).toBeGreaterThanOrEqual(N);

    // filters: nothing in the namespace makes neighbours, so all passed; exports: every line written
    expect(j.filters.filter).toBe("type != neigh");
    expect(j.filters.passed).toBe(route.events);
    const json = j.exports.find((e) => e.export === "json")!;
    expect(json.written).toBeGreaterThanOrEqual(N);
    expect(json.written).toBeLessThanOrEqual(json.written! + json.queued);
    expect(json.dropped).toBe(0);
    expect(json.errors).toBe(0);

    // the process: the file's own hash, this pid
    expect(j.pid).toBe(mon.proc.pid);
    expect(j.process.config_path).toBe(cfg);
    expect(j.process.config_sha256).toBe(new Bun.CryptoHasher("sha256").update(text).digest("hex"));
    const rssAnon = Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${mon.proc.pid}/status`, "utf8"))![1]) * 1024;
    expect(Math.abs(j.process.rss_anon_bytes - rssAnon)).toBeLessThan(8 * 1024 * 1024);
    expect(j.process.cpu_seconds).toBeGreaterThan(0);
    expect(j.process.uptime_seconds).toBeGreaterThan(0);
    expect(j.process.reloads).toEqual({ accepted: 0, rejected: 0 });
    expect(j.automation).toEqual({ hooks: [], alerts: [] });

    expect(await mon.stop()).toBe(0);
    // a clean stop takes its socket away
    expect(existsSync(sock)).toBe(false);
  }, 60_000);

  test("garbage on the control socket gets an error reply, never a crash; the daemon goes on", async () => {
    const ns = freshNs("stg");
    const sock = join(dir, "garbage.sock");
    const cfg = writeConfig(dir, "garbage.yaml", `control: { socket: ${sock} }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    await answering(cfg);
    const err = (r: { got: string }) => (JSON.parse(r.got.split("\n")[0]!) as { ok: boolean; error?: string });

    expect(err(await exchange(sock, "garbage\n"))).toEqual({ ok: false, error: expect.stringContaining("not JSON") });
    expect(err(await exchange(sock, "[1,2]\n")).error).toContain('no "cmd"');
    expect(err(await exchange(sock, "null\n")).error).toContain('no "cmd"');
    expect(err(await exchange(sock, '{"cmd":42}\n')).error).toContain('no "cmd"');
    expect(err(await exchange(sock, '{"cmd":"reboot"}\n')).error).toBe('unknown command "reboot" (known: status, ping)');
    expect(err(await exchange(sock, "\n")).error).toContain("empty request");
    expect(err(await exchange(sock, new Uint8Array([0, 255, 254, 10]))).error).toContain("not JSON");
    // two requests in one write: two answers, in order, and the connection stays open for more
    const two = await exchange(sock, '{"cmd":"ping"}\n{"cmd":"status"}\n', { lines: 2 });
    expect(two.closedByPeer).toBe(false);
    const [a, b] = two.got.trim().split("\n").map((l) => JSON.parse(l) as { ok: boolean; pong?: boolean; status?: StatusReport });
    expect(a).toEqual({ ok: true, pong: true });
    expect(b!.status!.pid).toBe(mon.proc.pid);
    // a line too long: one error, then the daemon hangs up
    const huge = await exchange(sock, "x".repeat(1 << 20), { untilClose: true });
    expect(err(huge).error).toBe("request longer than 4096 bytes");
    expect(huge.closedByPeer).toBe(true);
    // half a line and gone; many at once, gone without a word
    await exchange(sock, '{"cmd":"sta', { end: true });
    /** until the daemon holds no connection but the status request asking */
    const settled = async () => {
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
        if ((JSON.parse(status(cfg, true).out) as StatusReport).control.connections === 1) break;
      }
      expect((JSON.parse(status(cfg, true).out) as StatusReport).control.connections).toBe(1);
    };
    // once the connections above are gone...
    await settled();
    // ...sixteen idle clients hold every slot: the next is told so and let go
    const idle = await Promise.all(Array.from({ length: 16 }, () => Bun.connect({ unix: sock, socket: { data() {} } })));
    await sleep(200);
    const refused = await exchange(sock, '{"cmd":"ping"}\n', { untilClose: true });
    expect(err(refused).error).toBe("too many control connections; try again");
    expect(refused.closedByPeer).toBe(true);
    for (const c of idle) c.end();
    // the slots come free as the daemon sees each hang-up: a ping is answered within 5 s
    let pong = await exchange(sock, '{"cmd":"ping"}\n');
    for (const end = Date.now() + 5000; Date.now() < end && pong.closedByPeer; await sleep(50)) pong = await exchange(sock, '{"cmd":"ping"}\n');
    expect(err(pong)).toEqual({ ok: true, pong: true } as never);
    // a request without its newline, then the client shuts its side (`printf ... | socat`): still answered
    let halfGot = "";
    const half = await Bun.connect({ unix: sock, allowHalfOpen: true, socket: { data(_s, d) { halfGot += d.toString(); } } });
    half.write('{"cmd":"ping"}');
    half.shutdown();
    for (let i = 0; i < 50 && !halfGot.includes("\n"); i++) await sleep(20);
    half.end();
    expect(JSON.parse(halfGot)).toEqual({ ok: true, pong: true });
    // a burst of clients that hang up mid-request (some turned away while the slots are full)
    await Promise.all(Array.from({ length: 40 }, () => exchange(sock, '{"cmd":"status"', { end: true }).catch(() => undefined)));
    // the daemon lets every one of them go
    await settled();
    // half a line left hanging: answered with an error once the idle time is up, then closed
    const hang = await exchange(sock, '{"cmd":"sta', { waitMs: 15_000, untilClose: true });
    expect(err(hang).error).toContain("incomplete request");
    expect(hang.closedByPeer).toBe(true);

    // alive, answering, and still monitoring
    expect(mon.proc.exitCode).toBeNull();
    expect(status(cfg).code).toBe(0);
    ip(ns, "route", "add", "198.18.7.7/32", "dev", "lo");
    for (let i = 0; i < 100 && !mon.out.lines.some((l) => l.includes('"198.18.7.7/32"')); i++) await sleep(50);
    expect(mon.out.lines.some((l) => l.includes('"198.18.7.7/32"'))).toBe(true);
    expect(mon.err.lines.filter((l) => /internal error|error:/.test(l))).toEqual([]);
    expect(await mon.stop()).toBe(0);
  }, 60_000);

  test("a dead daemon's socket is replaced; a live one is left to its daemon, and the second runs without", async () => {
    const ns = freshNs("sts");
    const sock = join(dir, "shared.sock");
    const cfg = writeConfig(dir, "shared.yaml", `control: { socket: ${sock} }\n`);
    const first = startNlmon({ ns, args: ["--config", cfg] });
    children.push(first);
    await started(first);
    expect((await answering(cfg)).pid).toBe(first.proc.pid);
    // killed without a chance to clean up: its socket file stays
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    expect(statSync(sock).isSocket()).toBe(true);
    expect(status(cfg).code).toBe(1);

    const second = startNlmon({ ns, args: ["--config", cfg] });
    children.push(second);
    await started(second);
    expect((await answering(cfg)).pid).toBe(second.proc.pid);

    const third = startNlmon({ ns, args: ["--config", cfg] });
    children.push(third);
    await started(third);
    const warned = await third.err.waitLine((l) => l.includes(`control socket ${sock}: another nlmon is running`), 5000);
    expect(warned).toBeGreaterThanOrEqual(0);
    expect(third.err.lines[warned]).toContain("nlmon: warn: control:");
    expect(third.err.lines[warned]).toContain("runs without a control socket");
    // the socket still answers for the one that owns it
    expect((await answering(cfg)).pid).toBe(second.proc.pid);
    // and the third monitors all the same
    ip(ns, "route", "add", "198.18.8.8/32", "dev", "lo");
    for (let i = 0; i < 100 && !third.out.lines.some((l) => l.includes('"198.18.8.8/32"')); i++) await sleep(50);
    expect(third.out.lines.some((l) => l.includes('"198.18.8.8/32"'))).toBe(true);
    // the third stopping leaves the second's socket alone
    expect(await third.stop()).toBe(0);
    expect((await answering(cfg)).pid).toBe(second.proc.pid);
    expect(await second.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  }, 60_000);

  test("eight daemons started at once on a dead daemon's socket: one takes it, each other says so, none is left unreachable unawares", async () => {
    const ns = freshNs("strace");
    const sock = join(dir, "race.sock");
    const cfg = writeConfig(dir, "race.yaml", `control: { socket: ${sock} }\n`);
    const py = run(["python3", "-c", `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(sock)})`]);
    expect(py.code).toBe(0);
    const mons = Array.from({ length: 8 }, () => startNlmon({ ns, args: ["--config", cfg] }));
    children.push(...mons);
    for (const m of mons) await started(m);
    const owner = (await answering(cfg)).pid;
    const warnedOf = async (m: Child) => (await m.err.waitLine((l) => l.includes(`control socket ${sock}`), 1000)) >= 0;
    const warned = await Promise.all(mons.map(warnedOf));
    // the one that answers said nothing; every other one said it runs without the socket, and why
    expect(mons.filter((_, i) => !warned[i]).map((m) => m.proc.pid)).toEqual([owner]);
    for (const m of mons.filter((_, i) => warned[i])) {
      const line = m.err.lines.find((l) => l.includes(`control socket ${sock}`))!;
      expect(line).toContain("another nlmon is running and answers there");
      expect(line).toContain("runs without a control socket");
    }
    expect(existsSync(`${sock}.lock`)).toBe(false);
    for (const m of mons) expect(await m.stop()).toBe(0);
  }, 60_000);

  test("control.enabled: false: no socket, and --status says why it cannot reach one", async () => {
    const ns = freshNs("stoff");
    const sock = join(dir, "off.sock");
    const cfg = writeConfig(dir, "off.yaml", `control: { enabled: false, socket: ${sock} }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    children.push(mon);
    await started(mon);
    await sleep(300);
    expect(existsSync(sock)).toBe(false);
    const r = status(cfg);
    expect(r.code).toBe(1);
    expect(r.err).toContain("control.enabled is false");
    expect(await mon.stop()).toBe(0);
    writeFileSync(join(dir, "unused"), "");
  }, 30_000);
});
