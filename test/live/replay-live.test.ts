/**
 * The live stream against --replay of the pcap taken in the same run, on both backends: the
 * replayed events that are not marked `snapshot` are the live lines byte for byte, and the marked
 * ones are exactly the dump replies the capture starts with (which live never emitted). With
 * rotation, every file replays alone and the files together give the live stream again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NLM_F_MULTI } from "../../src/uapi/linux.gen.ts";
import { BACKENDS, delNs, ensureBinary, ip, must, nlmonMark, nsName, runNlmon, startNlmon, syncMark, tempDir } from "./lib.ts";

const dir = tempDir("replay");
beforeAll(() => ensureBinary(), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a change of each kind nlmon decodes by default, made after nlmon has started */
function churn(ns: string) {
  ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
  ip(ns, "addr", "add", "10.9.0.1/24", "dev", "v0");
  ip(ns, "-6", "addr", "add", "2001:db8:9::1/64", "dev", "v0", "nodad");
  ip(ns, "link", "set", "v0", "up");
  ip(ns, "link", "set", "v1", "up");
  for (let t = 10; t < 14; t++) ip(ns, "route", "add", `172.20.${t}.0/24`, "via", "10.9.0.2", "table", `${t}`, "proto", "201");
  ip(ns, "neigh", "add", "10.9.0.7", "lladdr", "02:00:00:00:00:07", "dev", "v0");
  ip(ns, "rule", "add", "from", "10.9.0.0/24", "table", "10", "pref", "1000");
  ip(ns, "route", "del", "172.20.11.0/24", "table", "11");
  ip(ns, "addr", "del", "10.9.0.1/24", "dev", "v0");
}

function replay(file: string, out: string): { lines: string[]; code: number; err: string } {
  writeFileSync(join(dir, "r.yaml"), `export:\n  json: { enabled: true, file: ${out} }\n`);
  const r = runNlmon({ args: ["--config", join(dir, "r.yaml"), "--replay", file] });
  const lines = must(["cat", out]).split("\n").filter(Boolean);
  return { lines, code: r.code, err: r.err };
}

const isSnapshot = (l: string) => JSON.parse(l).snapshot === true;

for (const b of BACKENDS) {
  describe(`live vs replay (${b.name})`, () => {
    test("replayed events equal the live ones; only the capture's leading state is extra, and marked", async () => {
      const ns = nsName("replay");
      must(["ip", "netns", "add", ns]);
      try {
        ip(ns, "link", "set", "lo", "up");
        const pcap = join(dir, `${b.name}.pcap`);
        const cfg = join(dir, `${b.name}.yaml`);
        writeFileSync(cfg, `export:\n  json: { enabled: true, file: "-" }\n  pcap: { enabled: true, file: ${pcap} }\n`);
        const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
        await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);
        churn(ns);
        await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);
        expect(await mon.stop()).toBe(0);
        const live = mon.out.lines.filter(Boolean);
        expect(live.length).toBeGreaterThan(20);

        const r = replay(pcap, join(dir, `${b.name}.replay.json`));
        expect(r.code, r.err).toBe(0);
        const snap = r.lines.filter(isSnapshot);
        // the byte-identical claim of docs/EXPORTS.md
        expect(r.lines.filter((l) => !isSnapshot(l))).toEqual(live);
        // the leading state: lo's link, its addresses, each as a dump reply, ahead of every live event
        expect(r.lines.slice(0, snap.length)).toEqual(snap);
        const evs = snap.map((l) => JSON.parse(l));
        expect(evs.every((e) => (e.netlink.msg_flags & NLM_F_MULTI) !== 0)).toBe(true);
        expect(evs.filter((e) => e.type === "link").map((e) => e.netlink.link.ifname)).toEqual(["lo"]);
        expect(evs.filter((e) => e.type === "addr").map((e) => e.netlink.addr.local ?? e.netlink.addr.address).sort()).toEqual(["127.0.0.1", "::1"]);
      } finally {
        delNs(ns);
      }
    }, 60_000);
  });
}

test("a rotated capture: each file replays alone, and together the files give the live stream", async () => {
  const ns = nsName("replayrot");
  must(["ip", "netns", "add", ns]);
  try {
    ip(ns, "link", "set", "lo", "up");
    const pcap = join(dir, "rot.pcap");
    const cfg = join(dir, "rot.yaml");
    writeFileSync(cfg, `export:\n  json: { enabled: true, file: "-" }\n  pcap: { enabled: true, file: ${pcap}, rotate: { max_size: 3000, keep: 100 } }\n`);
    const mon = startNlmon({ ns, args: ["--config", cfg] });
    await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);
    churn(ns);
    await syncMark(ns, [{ lines: mon.out, match: nlmonMark }]);
    expect(await mon.stop()).toBe(0);
    const live = mon.out.lines.filter(Boolean);
    const files = readdirSync(dir).filter((f) => /^rot\.pcap(\.\d+)?$/.test(f))
      .sort((x, y) => Number(y.split(".")[2] ?? 0) - Number(x.split(".")[2] ?? 0));
    expect(files.length).toBeGreaterThan(3);
    const joined: string[] = [];
    let marked = 0;
    for (const f of files) {
      const r = replay(join(dir, f), join(dir, `${f}.json`));
      expect(r.code, `${f}: ${r.err}`).toBe(0);
      marked += r.lines.filter(isSnapshot).length;
      joined.push(...r.lines.filter((l) => !isSnapshot(l)));
    }
    expect(joined).toEqual(live);
    // every file after the first opens with the links then known (lo, v0, v1 once they exist)
    expect(marked).toBeGreaterThan(files.length);
  } finally {
    delNs(ns);
  }
}, 60_000);
