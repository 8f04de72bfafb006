/**
 * Netfilter and sock_diag events through the exports: the JSON file and a pcap of the same run,
 * replayed (`--replay`), give the same events line for line (seq/pid aside: a capture has them
 * too, but the replay's come from the bytes, as live's did); tshark reads every frame as the
 * netlink protocol it was received on. Both backends.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  BACKENDS, delNs, ensureBinary, ensureLibnl, ensureTool, ip, must, nsName, runNlmon, startNlmon, tempDir, textOf, until, writeConfig,
} from "./lib.ts";

const dir = tempDir("nfexp");
const made: string[] = [];
beforeAll(() => {
  ensureBinary();
  ensureLibnl();
  ensureTool("nft", "nftables");
  ensureTool("tshark", "tshark");
}, 600_000);
afterAll(() => {
  for (const ns of made) delNs(ns);
  rmSync(dir, { recursive: true, force: true });
});

const TRAFFIC = [
  "import socket",
  "c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.sendto(b'x', ('127.0.0.1', 9999)); c.close()",
  "s = socket.socket(); s.bind(('127.0.0.1', 7009)); s.listen()",
  "a = socket.create_connection(('127.0.0.1', 7009)); b, _ = s.accept(); a.close(); b.close(); s.close()",
].join("\n");

describe("netfilter and sock_diag through the exports", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: JSON equals the pcap's replay; tshark reads the frames`, async () => {
      const ns = nsName(`nfx${b.name}`);
      made.push(ns);
      must(["ip", "netns", "add", ns]);
      ip(ns, "link", "set", "lo", "up");
      const nft = (...a: string[]) => must(["ip", "netns", "exec", ns, "nft", ...a]);
      nft("add", "table", "inet", "t");
      nft("add", "chain", "inet", "t", "o", "{ type filter hook output priority 0; }");
      nft("add", "rule", "inet", "t", "o", "ct", "state", "new", "counter");
      const json = join(dir, `${b.name}.json`);
      const pcap = join(dir, `${b.name}.pcap`);
      const cfg = writeConfig(dir, `${b.name}.yaml`, [
        "netlink:", "  protocols: { route: false, netfilter: true, sock_diag: true }",
        "export:", `  json: { enabled: true, file: ${json} }`, `  pcap: { enabled: true, file: ${pcap} }`,
      ].join("\n") + "\n");
      const mon = startNlmon({ ns, args: ["--config", cfg], env: b.env });
      try {
        expect(await mon.err.waitLine((l) => l.includes("sockets at start"), 15_000)).toBeGreaterThanOrEqual(0);
        must(["ip", "netns", "exec", ns, "python3", "-c", TRAFFIC]);
        nft("add", "table", "ip", "x");
        nft("delete", "table", "ip", "x");
        // until the file holds each kind, the table's deletion (the last change made) included
        await until(() => textOf(json), (t) => t.includes('"type":"conntrack"') && t.includes('"type":"diag"') && /"type":"nftables".*"delete"/.test(t), 15_000, 50);
      } finally {
        expect(await mon.stop()).toBe(0);
      }
      const live = readFileSync(json, "utf8").split("\n").filter(Boolean);
      const types = new Set(live.map((l) => JSON.parse(l).type));
      for (const t of ["conntrack", "nftables", "diag"]) expect(types.has(t)).toBe(true);

      const out = join(dir, `${b.name}.replay.json`);
      const rcfg = writeConfig(dir, `${b.name}.r.yaml`, `export:\n  json: { enabled: true, file: ${out} }\n`);
      const r = runNlmon({ args: ["--config", rcfg, "--replay", pcap] });
      expect(r.code).toBe(0);
      const replayed = readFileSync(out, "utf8").split("\n").filter(Boolean);
      expect(replayed).toEqual(live);

      // the netlink protocol of each frame (the cooked header's family: 12 netfilter, 4 sock_diag)
      const frames = must(["tshark", "-r", pcap, "-T", "fields", "-e", "netlink.family", "-e", "netlink.hdr_type"], { env: { HOME: dir } })
        .split("\n").filter(Boolean).map((l) => l.split("\t"));
      // tshark prints them in hex, and dissects nfnetlink's headers but not sock_diag's
      const key = (fam: number, type: number | undefined) => (fam === 4 || type === undefined ? `${fam}` : `${fam} ${type}`);
      const liveKeys = live.map((l) => JSON.parse(l) as { protocol: number; msg_type: number }).map((e) => key(e.protocol, e.msg_type));
      const frameKeys = frames.map(([fam, type]) => key(parseInt(fam!, 16), type ? parseInt(type, 16) : undefined));
      for (const k of new Set(liveKeys)) expect(frameKeys).toContain(k);
      expect(frameKeys.length).toBeGreaterThanOrEqual(liveKeys.length);
    }, 60_000);
  }
});
