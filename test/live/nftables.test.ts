/**
 * nf_tables ruleset changes against nftables' own monitor, on both backends. In a namespace of its
 * own, nlmon (netfilter, nftables only), `nft -j monitor` and `nft monitor` (text) watch while
 * `nft` adds and deletes a table, base chains (hook, priority, policy; a policy update), a
 * regular chain, rules of several expression kinds (payload + cmp, meta, ct state, counter,
 * accept/drop/return/jump/goto, a lookup in a named set and in an anonymous one, snat, dnat and
 * masquerade in nat chains, one transaction of six commands from a file), named sets (a plain one
 * and an interval one), elements added and deleted, rules deleted by handle, and the tables.
 *
 * nlmon's "nftables" events must be `nft -j monitor`'s lines, change for change and in order:
 * action (add/insert/create/delete), object, family, table, name or chain, handle; chains' type,
 * hook, priority and policy; sets' flags and key type; elements' keys (nft joins an interval's two
 * kernel elements into one range and drops the interval end that closes the gap below the first,
 * so nlmon's elements are joined the same way here); the statements of added rules. nft's monitor
 * leaves out the creation of anonymous sets ("__set0") and their elements (it prints them inside
 * the rule) but prints their deletion, and so does this comparison.
 *
 * `nft -j monitor` prints no line for NEWGEN; its text mode prints "# new generation N by process P
 * (name)": nlmon's gen events must be those lines, their pids the nft processes this test ran, and
 * every other event's res_id the low 16 bits of its transaction's generation.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NlEvent } from "../../src/event/model.ts";
import type { NftBody, NftExpr } from "../../src/event/nft-model.ts";
import { BACKENDS, Lines, liveFile, must, parseEvents, sleep, startNlmon, writeConfig } from "./lib.ts";

const { dir, freshNs } = liveFile("nftables", [["nft", "nftables"]]);

const CFG = writeConfig(dir, "nft.yaml", "netlink:\n  protocols: { route: false, netfilter: true }\n  netfilter: { conntrack: false }\n");


/** run `nft ARGS` in the namespace (ip netns exec execs nft itself: the pid is nft's); returns pid and stdout */
function nft(ns: string, ...args: string[]): { pid: number; out: string } {
  const r = Bun.spawnSync(["ip", "netns", "exec", ns, "nft", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`nft ${args.join(" ")} -> exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return { pid: r.pid, out: r.stdout.toString() };
}

function spawnLines(cmd: string[]) {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { proc, out: new Lines(proc.stdout), err: new Lines(proc.stderr) };
}

// ---------------------------------------------------------------------------------------------
// one comparable form of a change

/** nft's set key types by name, as it stores them in the kernel (NFTA_SET_KEY_TYPE) */
const KEY_TYPES: Record<string, number> = { ipv4_addr: 7, ipv6_addr: 8, ether_addr: 9, inet_proto: 12, inet_service: 13, mark: 19, ifname: 41 };

type Rec = string;

function rec(action: string, kind: string, family: string, table: string, name: string, handle: unknown, extra: Record<string, unknown>): Rec {
  const parts = [action, kind, family, table, name, `handle=${handle === undefined ? "-" : String(handle)}`];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) parts.push(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return parts.join(" ");
}

// ---- nft -j monitor's side

type Json = Record<string, unknown>;

function nftElemText(e: unknown): string {
  if (typeof e === "string" || typeof e === "number") return String(e);
  const o = e as Json;
  if (o.prefix) { const p = o.prefix as Json; return `${String(p.addr)}/${String(p.len)}`; }
  if (o.range) { const r = o.range as unknown[]; return `${nftElemText(r[0])}-${nftElemText(r[1])}`; }
  if (o.elem) return nftElemText((o.elem as Json).val);
  return JSON.stringify(o);
}

/** nft's ct state words as the kernel's bits (NF_CT_STATE_BIT) */
const CT_STATE_BITS: Record<string, number> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };

/** the statements of a rule as nft -j prints them, in a form both sides can be brought to */
function nftStatements(exprs: Json[]): string[] {
  const out: string[] = [];
  for (const x of exprs) {
    const [k, v] = Object.entries(x)[0]!;
    const o = (v ?? {}) as Json;
    switch (k) {
      case "match": {
        const left = o.left as Json;
        let lhs = "?";
        if (left.payload) {
          const p = left.payload as Json;
          lhs = `${["tcp", "udp", "th"].includes(String(p.protocol)) ? "th" : String(p.protocol)} ${String(p.field)}`;
        } else if (left.meta) lhs = `meta ${String((left.meta as Json).key)}`;
        else if (left.ct) {
          // ct state: the states' bits, which the kernel tests as (state & bits) != 0
          const key = String((left.ct as Json).key);
          const words = ([] as unknown[]).concat(o.right).map(String);
          out.push(key === "state" ? `ct state & ${words.reduce((a, w) => a + (CT_STATE_BITS[w] ?? NaN), 0)}` : `ct ${key} ${String(o.op)} ${words.join(",")}`);
          break;
        }
        const right = o.right;
        if (typeof right === "string" && right.startsWith("@")) out.push(`${lhs} ${right}`);
        else if (right && typeof right === "object" && (right as Json).set) out.push(`${lhs} @anon`);
        else out.push(`${lhs} ${String(o.op)} ${String(right)}`);
        break;
      }
      case "counter": out.push("counter"); break;
      case "accept": case "drop": case "return": case "continue": out.push(k); break;
      case "jump": case "goto": out.push(`${k} ${String(o.target)}`); break;
      case "masquerade": out.push("masq"); break;
      case "snat": case "dnat": out.push(`${k} ${String(o.addr)}${o.port !== undefined ? `:${String(o.port)}` : ""}`); break;
      default: out.push(`nft:${k}`);
    }
  }
  return out;
}

/** one line of `nft -j monitor`: one record per element for element lines */
function nftLineRecords(line: string): Rec[] {
  const j = JSON.parse(line) as Json;
  const [action, inner] = Object.entries(j)[0]!;
  const [kind, o] = Object.entries(inner as Json)[0]! as [string, Json];
  const family = String(o.family);
  const table = String(o.table ?? o.name);
  switch (kind) {
    case "table": return [rec(action, kind, family, table, String(o.name), o.handle, {})];
    case "chain": return [rec(action, kind, family, table, String(o.name), o.handle, { type: o.type, hook: o.hook, prio: o.prio, policy: o.policy })];
    case "set": {
      const adds = action !== "delete";
      return [rec(action, kind, family, table, String(o.name), o.handle, adds ? { flags: (o.flags as string[] | undefined) ?? [], key_type: KEY_TYPES[String(o.type)] ?? `nft:${String(o.type)}` } : {})];
    }
    case "element": {
      const elems = ((o.elem as Json).set as unknown[]) ?? [];
      return elems.map((e) => rec(action, kind, family, table, String(o.name), undefined, { key: nftElemText(e) }));
    }
    case "rule": {
      const adds = action !== "delete";
      return [rec(action, kind, family, table, String(o.chain), o.handle, adds ? { stmts: nftStatements((o.expr as Json[]) ?? []) } : {})];
    }
    default: return [rec(action, kind, family, table, String(o.name), o.handle, {})];
  }
}

// ---- nlmon's side

const ipv4 = (hex: string) => [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");
const num = (hex: string) => parseInt(hex, 16);
/** bytes in host (little-endian) order as a number */
const leNum = (hex: string) => parseInt((hex.match(/../g) ?? []).reverse().join(""), 16);
const ipv4Num = (n: number) => ipv4(n.toString(16).padStart(8, "0"));
/** a name from cmp data: the bytes up to the first NUL */
function ifname(hex: string): string {
  let s = "";
  for (let i = 0; i < hex.length; i += 2) {
    const c = parseInt(hex.slice(i, i + 2), 16);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** payload loads by where they read: nft's names for the ones this test uses */
const PAYLOADS: Record<string, string> = { "network/12/4": "ip saddr", "network/16/4": "ip daddr", "transport/0/2": "th sport", "transport/2/2": "th dport" };
/** meta keys nft adds as dependencies of a payload match and does not print */
const IMPLICIT_META = new Set(["l4proto", "nfproto", "protocol"]);

/** nlmon's rule expressions brought to nftStatements' form */
function nlmonStatements(exprs: NftExpr[]): string[] {
  const out: string[] = [];
  const reg: Record<number, string | null> = {}; // what a register was loaded with (null: nothing nft prints)
  const val: Record<number, string> = {}; // immediate values, hex
  for (const e of exprs) {
    switch (e.name) {
      case "payload": reg[e.dreg!] = PAYLOADS[`${String(e.base)}/${e.offset}/${e.len}`] ?? `payload ${String(e.base)}/${e.offset}/${e.len}`; break;
      case "meta": if (e.dreg !== undefined) reg[e.dreg] = IMPLICIT_META.has(String(e.key)) ? null : `meta ${String(e.key)}`; break;
      case "ct": if (e.dreg !== undefined) reg[e.dreg] = `ct ${String(e.key)}`; break;
      case "bitwise":
        // ct state's bits: a mask in host byte order, then a test for non-zero
        if (reg[e.sreg!] === "ct state" && e.mask !== undefined) reg[e.dreg!] = `ct state & ${leNum(e.mask)}`;
        else reg[e.dreg!] = `bitwise ${reg[e.sreg!] ?? "?"}`;
        break;
      case "cmp": {
        const lhs = reg[e.sreg!];
        if (lhs === null) break;
        if (lhs?.startsWith("ct state & ") && e.op === "neq" && /^0+$/.test(e.data ?? "")) { out.push(lhs); break; }
        const data = e.data ?? "";
        const v = lhs === undefined ? data : lhs.startsWith("ip ") ? ipv4(data) : lhs.startsWith("meta ") && lhs.endsWith("name") ? ifname(data) : String(num(data));
        out.push(`${lhs ?? "?"} ${e.op === "eq" ? "==" : String(e.op)} ${v}`);
        break;
      }
      case "lookup": out.push(`${reg[e.sreg!] ?? "?"} ${e.set?.startsWith("__") ? "@anon" : `@${e.set}`}`); break;
      case "counter": out.push("counter"); break;
      case "immediate":
        if (e.dreg === 0) out.push(e.chain !== undefined ? `${String(e.verdict)} ${e.chain}` : String(e.verdict));
        else if (e.data !== undefined) val[e.dreg!] = e.data;
        break;
      case "masq": out.push("masq"); break;
      case "nat": {
        const a = e.reg_addr_min !== undefined ? ipv4(val[e.reg_addr_min] ?? "") : "";
        const p = e.reg_proto_min !== undefined ? `:${num(val[e.reg_proto_min] ?? "")}` : "";
        out.push(`${String(e.type)} ${a}${p}`);
        break;
      }
      default: out.push(`nlmon:${e.name}`);
    }
  }
  return out;
}

/**
 * nlmon's events as records. Interval sets' elements come from the kernel as a start and an
 * interval_end each; they are joined into nft's forms (a.b.c.d, a.b.c.d/len, a-b).
 */
function nlmonRecords(events: NftBody[]): Rec[] {
  const out: Rec[] = [];
  const interval = new Set<string>(); // "family table set"
  const pending = new Map<string, { action: string; start: number; body: NftBody }>();
  for (const b of events) {
    const action = b.action!;
    const family = b.family!;
    const table = b.table ?? "";
    switch (b.object) {
      case "table": out.push(rec(action, "table", family, table, b.name!, b.handle, {})); break;
      case "chain":
        out.push(rec(action, "chain", family, table, b.name!, b.handle, b.hook !== undefined ? { type: b.type, hook: b.hook, prio: b.prio, policy: b.policy } : {}));
        break;
      case "set": {
        const key = `${family} ${table} ${b.name}`;
        if (action !== "delete" && b.flags?.includes("interval")) interval.add(key);
        if (b.name!.startsWith("__") && action !== "delete") break; // nft monitor does not print anonymous sets' creation
        // nft's words for set flags are the kernel's for the flags it prints
        const flags = (b.flags ?? []).filter((f) => ["constant", "interval", "timeout", "dynamic"].includes(f));
        out.push(rec(action, "set", family, table, b.name!, b.handle, action !== "delete" ? { flags, key_type: b.key_type } : {}));
        break;
      }
      case "element": {
        if (b.name!.startsWith("__")) break; // nor their elements
        const key = `${family} ${table} ${b.name}`;
        for (const el of b.elem ?? []) {
          const k = el.key ?? "";
          const text = k.length === 8 ? ipv4(k) : String(num(k));
          if (!interval.has(key)) { out.push(rec(action, "element", family, table, b.name!, undefined, { key: text })); continue; }
          const isEnd = el.flags?.includes("interval_end") ?? false;
          const p = pending.get(key);
          if (!isEnd) {
            if (p) out.push(rec(p.action, "element", family, table, b.name!, undefined, { key: `${ipv4Num(p.start)}-open` }));
            pending.set(key, { action, start: num(k), body: b });
            continue;
          }
          if (!p) continue; // the end of the gap below the first interval: nft prints nothing for it
          pending.delete(key);
          const size = num(k) - p.start;
          const bits = Math.log2(size);
          const text2 = size === 1 ? ipv4Num(p.start)
            : Number.isInteger(bits) && p.start % size === 0 ? `${ipv4Num(p.start)}/${32 - bits}`
            : `${ipv4Num(p.start)}-${ipv4Num(num(k) - 1)}`;
          out.push(rec(p.action, "element", family, table, b.name!, undefined, { key: text2 }));
        }
        break;
      }
      case "rule":
        out.push(rec(action, "rule", family, table, b.chain!, b.handle, action !== "delete" ? { stmts: nlmonStatements(b.exprs ?? []) } : {}));
        break;
      default: out.push(rec(action, b.object, family, table, b.name ?? "", b.handle, {}));
    }
  }
  for (const [key, p] of pending) out.push(`unclosed interval ${key} ${p.action} ${ipv4Num(p.start)}`);
  return out;
}

// ---------------------------------------------------------------------------------------------

/** the changes: each entry one nft invocation (one transaction); "$H:x" is the handle echoed by the entry tagged x */
const NAT_FILE = [
  "add table ip nlnat",
  "add chain ip nlnat post { type nat hook postrouting priority 100; }",
  "add chain ip nlnat pre { type nat hook prerouting priority -100; }",
  "add rule ip nlnat post oifname \"lo\" masquerade",
  "add rule ip nlnat post ip daddr 192.0.2.1 snat to 10.0.0.1",
  "add rule ip nlnat pre tcp dport 8080 dnat to 10.0.0.2:80",
].join("\n") + "\n";

interface Step { cmd: string; echoAs?: string; file?: string }
const STEPS: Step[] = [
  { cmd: "add table inet nlt" },
  { cmd: "add chain inet nlt input { type filter hook input priority 0; policy drop; }" },
  { cmd: "create chain inet nlt side" },
  { cmd: "add chain inet nlt relay { type filter hook forward priority -10; policy accept; }" },
  { cmd: "add set inet nlt allowed { type ipv4_addr; flags interval; }" },
  { cmd: "add set inet nlt ports { type inet_service; }" },
  { cmd: "add element inet nlt ports { 22, 80, 443 }" },
  { cmd: "add element inet nlt allowed { 10.0.0.0/8, 172.16.0.1-172.16.0.9, 192.168.1.1 }" },
  { cmd: "add rule inet nlt input ip saddr 10.1.2.3 tcp dport 22 counter accept" },
  { cmd: "add rule inet nlt input meta iifname \"lo\" accept", echoAs: "meta" },
  { cmd: "add rule inet nlt input ct state established,related accept" },
  { cmd: "add rule inet nlt input ct state new counter" },
  { cmd: "add rule inet nlt input tcp dport @ports jump side" },
  { cmd: "insert rule inet nlt input ip saddr @allowed accept" },
  { cmd: "add rule inet nlt input tcp dport { 8080, 8443 } drop", echoAs: "anon" },
  { cmd: "add rule inet nlt side counter return" },
  { cmd: "add rule inet nlt relay ip daddr 192.0.2.7 goto side" },
  { cmd: "", file: NAT_FILE },
  { cmd: "add chain inet nlt input { policy accept; }" },
  { cmd: "delete element inet nlt ports { 80 }" },
  { cmd: "delete element inet nlt allowed { 192.168.1.1 }" },
  { cmd: "delete rule inet nlt input handle $H:meta" },
  { cmd: "create set inet nlt tmp { type ipv4_addr; }" },
  { cmd: "delete set inet nlt tmp" },
  { cmd: "delete rule inet nlt input handle $H:anon" },
  { cmd: "delete table ip nlnat" },
  { cmd: "delete table inet nlt" },
];

const GEN_LINE = /^# new generation (\d+) by process (\d+) \((.*)\)$/;

describe("nftables events equal nft monitor's", () => {
  for (const b of BACKENDS) {
    test(`${b.name}: tables, chains, rules, sets and elements added and deleted`, async () => {
      const ns = freshNs(`nft${b.name}`);
      const mon = startNlmon({ ns, args: ["--config", CFG], env: b.env });
      const nj = spawnLines(["ip", "netns", "exec", ns, "stdbuf", "-oL", "nft", "-j", "monitor"]);
      const nt = spawnLines(["ip", "netns", "exec", ns, "stdbuf", "-oL", "nft", "monitor"]);
      const syncPids = new Set<number>();
      const pids: number[] = [];
      let cut: { mon: number; nj: number; nt: number } | undefined;
      try {
        expect(await mon.err.waitLine((l) => l.includes("receive buffer"), 15_000)).toBeGreaterThanOrEqual(0);
        // a sync table that all three report: what follows it reaches all three
        const end = Date.now() + 15_000;
        for (let k = 1; !cut && Date.now() < end; k++) {
          const t = `nlmsync${k}`;
          syncPids.add(nft(ns, `add table inet ${t}`).pid);
          const a = await mon.out.waitLine((l) => l.includes('"NFT_MSG_NEWTABLE"') && l.includes(`"name":"${t}"`), 1500);
          const j = a < 0 ? -1 : await nj.out.waitLine((l) => l.includes(`"name": "${t}"`), 1500);
          const x = j < 0 ? -1 : await nt.out.waitLine((l) => l === `add table inet ${t}`, 1500);
          if (a >= 0 && j >= 0 && x >= 0) cut = { mon: a + 1, nj: j + 1, nt: x + 1 };
        }
        if (!cut) throw new Error(`nlmon and nft monitor did not both report a table within 15 s; nlmon stderr: ${mon.err.lines.join(" / ")}`);
        for (const l of must(["ip", "netns", "exec", ns, "nft", "list", "tables"]).split("\n")) {
          const m = /^table inet (nlmsync\d+)$/.exec(l.trim());
          if (m) syncPids.add(nft(ns, `delete table inet ${m[1]}`).pid);
        }

        const handles: Record<string, string> = {};
        for (const s of STEPS) {
          let r: { pid: number; out: string };
          if (s.file) {
            const f = join(dir, `tx-${b.name}.nft`);
            writeFileSync(f, s.file);
            r = nft(ns, "-f", f);
          } else {
            const cmd = s.cmd.replace(/\$H:(\w+)/g, (_, k: string) => handles[k] ?? "?");
            r = s.echoAs ? nft(ns, "-e", "-a", cmd) : nft(ns, cmd);
            if (s.echoAs) {
              const m = /# handle (\d+)/.exec(r.out);
              if (!m) throw new Error(`nft -e -a ${cmd} printed no handle: ${r.out}`);
              handles[s.echoAs] = m[1]!;
            }
          }
          pids.push(r.pid);
        }
        // an end mark: all three have everything before it when they show it
        syncPids.add(nft(ns, "add table inet nlmend").pid);
        expect(await mon.out.waitLine((l) => l.includes('"NFT_MSG_NEWTABLE"') && l.includes('"name":"nlmend"'), 5000, cut.mon)).toBeGreaterThanOrEqual(0);
        expect(await nj.out.waitLine((l) => l.includes('"name": "nlmend"'), 5000, cut.nj)).toBeGreaterThanOrEqual(0);
        expect(await nt.out.waitLine((l) => l === "add table inet nlmend", 5000, cut.nt)).toBeGreaterThanOrEqual(0);
        await sleep(200);
      } finally {
        await mon.stop();
        for (const p of [nj, nt]) {
          p.proc.kill("SIGTERM");
          await p.proc.exited;
          await p.out.done;
        }
      }
      const c = cut!;
      const isSync = (t: string | undefined) => t !== undefined && (t.startsWith("nlmsync") || t === "nlmend");

      // nlmon: the events after the sync table, without the sync tables' own changes
      const events = parseEvents(mon.out.lines.slice(c.mon)).filter((e) => e.type === "nftables");
      const bodies = events.map((e: NlEvent) => e.netlink.nftables!);
      const gens = bodies.filter((x) => x.object === "gen" && !syncPids.has(x.pid!));
      const changes = bodies.filter((x) => x.object !== "gen" && !isSync(x.table));

      // nft -j monitor
      const toolRecs = nj.out.lines.slice(c.nj).filter((l) => l.trim().startsWith("{")).flatMap(nftLineRecords)
        .filter((r) => !/^\S+ \S+ \S+ (nlmsync\d+|nlmend) /.test(r));
      // the set-up did what it says: the tool saw each kind of change
      for (const w of ["add table", "create chain", "add chain", "add set", "create set", "add element", "delete element", "add rule", "insert rule", "delete rule", "delete set", "delete chain", "delete table"]) {
        expect(toolRecs.some((r) => r.startsWith(w + " "))).toBe(true);
      }
      expect(nlmonRecords(changes)).toEqual(toolRecs);

      // generations: nft monitor's text lines, the processes this test ran
      const toolGens = nt.out.lines.slice(c.nt).map((l) => GEN_LINE.exec(l)).filter((m) => m !== null)
        .map((m) => ({ gen_id: Number(m[1]), pid: Number(m[2]), proc_name: m[3]! })).filter((g) => !syncPids.has(g.pid));
      const ourGens = gens.map((g) => ({ gen_id: g.gen_id, pid: g.pid, proc_name: g.proc_name }));
      expect(toolGens.map((g) => g.pid)).toEqual(pids);
      expect(ourGens).toEqual(toolGens);
      for (let i = 1; i < ourGens.length; i++) expect(ourGens[i]!.gen_id!).toBeGreaterThan(ourGens[i - 1]!.gen_id!);

      // every change carries its transaction's generation (res_id: its low 16 bits), which follows it
      const resMismatch: string[] = [];
      let open: NftBody[] = [];
      for (const x of bodies) {
        if (x.object !== "gen") { open.push(x); continue; }
        for (const y of open) if (y.res_id !== (x.gen_id! & 0xffff)) resMismatch.push(`${y.action} ${y.object} ${y.name ?? y.chain}: res_id ${y.res_id}, gen ${x.gen_id}`);
        open = [];
      }
      expect(resMismatch).toEqual([]);
      expect(open.filter((y) => !isSync(y.table))).toEqual([]);
    }, 60_000);
  }
});
