// nf_tables notifications captured from the kernel (test/fixtures/nftables/capture.sh) against what
// `nft -j monitor` and `nft monitor` printed for the same transactions.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { walkMessages, type NlMsgHeader } from "../../src/codec/nlmsg.ts";
import { BasicContext } from "../../src/decode/context.ts";
import { Names } from "../../src/decode/names.ts";
import type { NftBody, NftExpr } from "../../src/event/nft-model.ts";
import { decodeNftables } from "../../src/families/netfilter/nftables.ts";
import { NAMES, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETRULE, NFT_MSG_NEWTABLE, NFT_MSG_TRACE, SIZEOF } from "../../src/uapi/netfilter.gen.ts";
import { SIZEOF as LINUX_SIZEOF } from "../../src/uapi/linux.gen.ts";

const DIR = join(import.meta.dir, "../fixtures/nftables");
const read = (f: string) => readFileSync(join(DIR, f), "utf8");

interface Msg {
  hdr: NlMsgHeader;
  bytes: Uint8Array; // the whole message, header included
}

function datagrams(): Uint8Array[] {
  return read("messages.hex").trim().split("\n").map((l) => new Uint8Array(Buffer.from(l, "hex")));
}

function messages(): Msg[] {
  const out: Msg[] = [];
  for (const d of datagrams()) {
    walkMessages(new DataView(d.buffer, d.byteOffset, d.byteLength), 0, d.length, {
      message: (hdr, _dv, _off, end, msgOff) => out.push({ hdr: { ...hdr }, bytes: d.subarray(msgOff, end) }),
      framingError: (kind, off) => { throw new Error(`fixture framing: ${kind} at ${off}`); },
    });
  }
  return out;
}

const HDR = LINUX_SIZEOF.nlmsghdr;

function decode(m: Msg, ctx: BasicContext, cut = m.bytes.length): NftBody | undefined {
  const b = m.bytes;
  return decodeNftables(m.hdr, new DataView(b.buffer, b.byteOffset, b.byteLength), HDR, cut, ctx);
}

const newCtx = () => new BasicContext(new Names([]));

const MSGS = messages();
const ctxAll = newCtx();
const BODIES = MSGS.map((m) => decode(m, ctxAll)!);

/** `nft -j monitor`'s lines. nft 1.0.6 writes a table with flags as `"flags": ` and nothing after: those lines keep what precedes. */
interface MonLine { action: string; kind: string; obj: Record<string, unknown>; broken: boolean }
function monitorJson(): MonLine[] {
  return read("monitor.json").trim().split("\n").map((l) => {
    try {
      const o = JSON.parse(l) as Record<string, Record<string, Record<string, unknown>>>;
      const action = Object.keys(o)[0]!;
      const kind = Object.keys(o[action]!)[0]!;
      return { action, kind, obj: o[action]![kind]!, broken: false };
    } catch {
      const m = /^\{"(\w+)": \{"(\w+)": \{"family": "(\w+)", "name": "(\w+)", "handle": (\d+), "flags": $/.exec(l);
      if (!m) throw new Error(`monitor.json: unreadable line ${l}`);
      return { action: m[1]!, kind: m[2]!, obj: { family: m[3], name: m[4], handle: Number(m[5]) }, broken: true };
    }
  });
}

const ipv4Hex = (a: string) => a.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
const hostLE = endianness() === "LE";
/** a number as the kernel holds it for nft's types: network order, or host order for marks */
function keyHex(v: number, type: string): string {
  if (type === "inet_service") return v.toString(16).padStart(4, "0");
  const be = v.toString(16).padStart(8, "0");
  return type === "mark" && hostLE ? be.match(/../g)!.reverse().join("") : be;
}

/** Which of our messages nft prints in JSON: not generations, nor anonymous sets or their elements. */
function printedByNftJson(bodies: NftBody[]): NftBody[] {
  const anon = new Set<string>();
  const out: NftBody[] = [];
  for (const b of bodies) {
    if (b.object === "gen") continue;
    if (b.object === "set" && b.flags?.includes("anonymous")) { anon.add(`${b.table}/${b.name}`); continue; }
    if (b.object === "element" && anon.has(`${b.table}/${b.name}`)) continue;
    out.push(b);
  }
  return out;
}

/** nft's JSON kind for our object: maps are sets with the map flag; stateful objects go by their type */
function nftKind(b: NftBody): string {
  if (b.object === "set") return b.flags?.includes("map") ? "map" : "set";
  return b.object;
}
const OBJECT_KINDS = ["counter", "quota", "limit", "ct helper", "ct timeout", "ct expectation", "secmark", "synproxy"];

const NFT_SET_FLAG: Record<string, string> = { dynamic: "eval" };
const KEY_LEN: Record<string, number> = { ipv4_addr: 4, inet_service: 2, mark: 4 };

function checkExprs(json: Record<string, unknown>[], ex: NftExpr[], where: string): void {
  const has = (pred: (e: NftExpr) => boolean, what: string) => expect(ex.some(pred), `${where}: ${what}`).toBe(true);
  for (const st of json) {
    const [k, v] = Object.entries(st)[0]!;
    const val = v as Record<string, unknown> | null;
    switch (k) {
      case "accept": case "drop": case "continue": case "return":
        has((e) => e.name === "immediate" && e.dreg === 0 && e.verdict === k, k); break;
      case "jump": case "goto":
        has((e) => e.name === "immediate" && e.verdict === k && e.chain === (val as { target: string }).target, k); break;
      case "counter":
        if (typeof v === "string") has((e) => e.name === "objref" && e.obj_name === v, "named counter");
        else has((e) => e.name === "counter" && e.packets === val!.packets && e.bytes === val!.bytes, "counter");
        break;
      case "log": has((e) => e.name === "log" && e.prefix === val!.prefix, "log prefix"); break;
      case "limit":
        expect(val!.per).toBe("second");
        has((e) => e.name === "limit" && e.rate === val!.rate && e.burst === val!.burst && e.unit === 1, "limit"); break;
      case "reject": has((e) => e.name === "reject" && e.type === `${val!.type}_unreach`, "reject"); break;
      case "dnat": case "snat":
        has((e) => e.name === "nat" && e.type === k && e.family === "ip", k);
        has((e) => e.name === "immediate" && e.data === ipv4Hex(val!.addr as string), `${k} address`); break;
      case "redirect":
        has((e) => e.name === "redir", "redir");
        has((e) => e.name === "immediate" && e.value === val!.port, "redirect port"); break;
      case "masquerade": has((e) => e.name === "masq", "masq"); break;
      case "vmap": has((e) => e.name === "lookup" && `@${e.set}` === val!.data && e.dreg === 0, "vmap"); break;
      case "match": {
        const right = val!.right;
        const left = val!.left as Record<string, { key?: string }>;
        if (typeof right === "string" && right.startsWith("@")) has((e) => e.name === "lookup" && `@${e.set}` === right, "lookup");
        else if (typeof right === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(right)) has((e) => e.name === "cmp" && e.data === ipv4Hex(right), right);
        else if (typeof right === "string" && left.meta?.key?.endsWith("ifname")) {
          const h = Buffer.from(right).toString("hex") + "00";
          has((e) => e.name === "cmp" && e.data!.startsWith(h), `ifname ${right}`);
        } else if (typeof right === "number") {
          has((e) => e.name === "cmp" && e.op === "eq" && e.value === right, `== ${right}`);
          if (left.meta?.key === "mark") has((e) => e.name === "cmp" && e.byteorder === "host", "mark in host order");
        } else if (right && typeof right === "object" && "range" in right) {
          const [lo, hi] = (right as { range: number[] }).range;
          has((e) => e.name === "cmp" && e.op === "gte" && e.value === lo, "range low");
          has((e) => e.name === "cmp" && e.op === "lte" && e.value === hi, "range high");
        } else if (right && typeof right === "object" && "prefix" in right) {
          const p = (right as { prefix: { addr: string; len: number } }).prefix;
          has((e) => e.name === "cmp" && e.data === ipv4Hex(p.addr).slice(0, p.len / 4), "prefix");
        } else if (right && typeof right === "object" && "set" in right) {
          has((e) => e.name === "lookup" && e.set!.startsWith("__set"), "anonymous set lookup");
        }
        // other right-hand sides are nft's symbols (tcp, established, ipv4): names from its own tables
        break;
      }
      default: throw new Error(`${where}: statement ${k} not checked`);
    }
  }
}

describe("nf_tables fixtures against nft monitor", () => {
  const mon = monitorJson();
  const printed = printedByNftJson(BODIES);
  const setTypes = new Map<string, string>();

  test("fixtures decode without problems", () => {
    expect(MSGS.length).toBeGreaterThan(100);
    expect(BODIES.every((b) => b !== undefined)).toBe(true);
    expect(ctxAll.problems).toEqual([]);
    // only attributes newer than the headers nlmon was built with (this kernel's NFTA_SET_TYPE, NFTA_SET_COUNT)
    for (const [where, types] of ctxAll.unknownAttrs) {
      expect(where).toBe("nft.set");
      const max = Math.max(...Object.keys(NAMES.nft_set_attributes).map(Number));
      for (const t of types) expect(t).toBeGreaterThan(max);
    }
  });

  test("the same events in the same order", () => {
    expect(printed.length).toBe(mon.length);
    expect(mon.filter((l) => l.broken).length).toBeLessThanOrEqual(1);
  });

  test("each event's action, kind, family, names and handle", () => {
    printed.forEach((b, i) => {
      const { action, kind, obj } = mon[i]!;
      const where = `event ${i} (${action} ${kind})`;
      expect(b.action, where).toBe(action as NftBody["action"]);
      if (b.object === "obj") expect(OBJECT_KINDS, where).toContain(kind);
      else expect(nftKind(b), where).toBe(kind);
      expect(b.family, where).toBe(obj.family as string);
      if (b.object === "table") expect(b.table, where).toBe(obj.name as string);
      else expect(b.table, where).toBe(obj.table as string);
      if (b.object === "rule") expect(b.chain, where).toBe(obj.chain as string);
      else expect(b.name, where).toBe(obj.name as string);
      if (obj.handle !== undefined) expect(b.handle, where).toBe(obj.handle as number);
    });
  });

  test("chains: hook, priority, policy, type", () => {
    let base = 0;
    printed.forEach((b, i) => {
      const { kind, obj } = mon[i]!;
      if (kind !== "chain") return;
      for (const k of ["hook", "prio", "policy", "type"] as const) {
        expect(b[k], `event ${i} ${k}`).toEqual(obj[k] as string | number | undefined);
      }
      if (obj.hook) base++;
    });
    expect(base).toBeGreaterThanOrEqual(5);
  });

  test("sets: type by key length, flags, timeout, map data", () => {
    let n = 0;
    printed.forEach((b, i) => {
      const { action, kind, obj } = mon[i]!;
      if (kind !== "set" && kind !== "map") return;
      if (action === "delete") return; // nft names no type for a deleted set ("invalid")
      n++;
      const type = obj.type as string;
      setTypes.set(b.name!, type);
      expect(b.key_len, `${b.name} key length`).toBe(KEY_LEN[type]!);
      for (const f of (obj.flags as string[] | undefined) ?? []) expect(b.flags).toContain(NFT_SET_FLAG[f] ?? f);
      if (obj.timeout !== undefined) expect(b.timeout_ms).toBe((obj.timeout as number) * 1000);
      if (kind === "map") {
        expect(b.flags).toContain("map");
        expect(b.data_type).toBe(obj.map as "verdict");
      }
    });
    expect(n).toBe(4);
  });

  test("elements: keys, timeouts, verdicts", () => {
    let n = 0;
    printed.forEach((b, i) => {
      const { kind, obj } = mon[i]!;
      if (kind !== "element") return;
      const items = (obj.elem as { set: unknown[] }).set;
      expect(b.elem!.length).toBe(items.length);
      const type = setTypes.get(b.name!)!;
      expect(type).toBeDefined();
      items.forEach((it, j) => {
        const el = b.elem![j]!;
        n++;
        let key: unknown = it;
        if (Array.isArray(it)) {
          key = it[0];
          const [verdict, arg] = Object.entries(it[1] as object)[0]!;
          expect(el.verdict).toBe(verdict);
          if (arg) expect(el.chain).toBe((arg as { target: string }).target);
        } else if (it && typeof it === "object") {
          const e = (it as { elem: { val: unknown; timeout?: number; expires?: number } }).elem;
          key = e.val;
          if (e.timeout !== undefined) expect(el.timeout_ms).toBe(e.timeout * 1000);
          if (e.expires !== undefined) expect(Math.round(Number(el.expires_ms) / 1000)).toBe(e.expires);
        }
        expect(el.key).toBe(typeof key === "string" ? ipv4Hex(key) : keyHex(key as number, type));
        if (type === "inet_service") expect(el.key_num).toBe(key as number);
      });
    });
    expect(n).toBeGreaterThanOrEqual(9);
  });

  test("rules: handle, chain and the statements nft shows", () => {
    let n = 0;
    printed.forEach((b, i) => {
      const { kind, obj } = mon[i]!;
      if (kind !== "rule") return;
      n++;
      expect(b.exprs!.length).toBeGreaterThan(0);
      checkExprs(obj.expr as Record<string, unknown>[], b.exprs!, `rule ${b.handle}`);
      if (obj.comment) expect(b.userdata_len).toBeGreaterThan(0);
    });
    expect(n).toBeGreaterThanOrEqual(30);
  });

  test("table flags (nft -j cuts them off; the text monitor shows them)", () => {
    const text = read("monitor.txt");
    const dormant = printed.filter((b) => b.object === "table" && b.flags?.includes("dormant"));
    expect(dormant.map((b) => `${b.family} ${b.name}`)).toEqual(
      [...text.matchAll(/^add table (\S+ \S+) \{ flags dormant; \}$/gm)].map((m) => m[1]),
    );
    expect(dormant.length).toBe(1);
  });

  test("new generations against the text monitor", () => {
    const lines = [...read("monitor.txt").matchAll(/^# new generation (\d+) by process (\d+) \((.*)\)$/gm)];
    const gens = BODIES.filter((b) => b.object === "gen");
    expect(gens.length).toBe(lines.length);
    expect(lines.length).toBe(read("commands.txt").trim().split("\n").length);
    gens.forEach((g, i) => {
      const [, id, pid, name] = lines[i]!;
      expect(g).toEqual({ object: "gen", family: "unspec", family_num: 0, res_id: Number(id) & 0xffff, gen_id: Number(id), pid: Number(pid), proc_name: name! });
    });
  });

  test("every message of a transaction carries its generation in res_id", () => {
    let gen: number | undefined;
    for (let i = BODIES.length - 1; i >= 0; i--) {
      const b = BODIES[i]!;
      if (b.object === "gen") gen = b.gen_id;
      else expect(b.res_id).toBe(gen! & 0xffff);
    }
  });
});

describe("nf_tables literal bodies", () => {
  const find = (pred: (b: NftBody) => boolean) => BODIES.find(pred)!;
  test("add table", () => {
    expect(find((b) => b.object === "table" && b.name === "t1")).toEqual({
      action: "add", object: "table", family: "inet", family_num: 1, res_id: 2, name: "t1", table: "t1", use: 0, handle: 1, flags: [],
    });
    expect(find((b) => b.object === "table" && b.name === "t6").action).toBe("create");
  });
  test("add base chain", () => {
    expect(find((b) => b.object === "chain" && b.name === "input")).toEqual({
      action: "add", object: "chain", family: "inet", family_num: 1, res_id: 5, table: "t1", name: "input", handle: 1,
      hook: "input", hooknum: 1, prio: 0, policy: "drop", type: "filter", flags: ["base"], use: 0,
    });
    expect(find((b) => b.object === "chain" && b.name === "ing")).toMatchObject({ family: "netdev", hook: "ingress", prio: -5, dev: "lo", devs: ["lo"] });
  });
  test("add rule", () => {
    expect(find((b) => b.object === "rule" && b.handle === 7)).toEqual({
      action: "add", object: "rule", family: "inet", family_num: 1, res_id: 15, table: "t1", chain: "input", handle: 7,
      exprs: [
        { name: "meta", key: "l4proto", dreg: 1 },
        { name: "cmp", sreg: 1, op: "eq", data: "06", value: 6 },
        { name: "payload", dreg: 1, base: "transport", offset: 2, len: 2 },
        { name: "cmp", sreg: 1, op: "eq", data: "0016", value: 22 },
        { name: "counter", bytes: 0, packets: 0 },
        { name: "immediate", dreg: 0, verdict: "accept" },
      ],
    });
    expect(find((b) => b.object === "rule" && b.handle === 12).action).toBe("insert");
    expect(find((b) => b.object === "rule" && b.chain === "pre" && b.handle === 3).exprs!.slice(-2)).toEqual([
      { name: "immediate", dreg: 1, data: "0a000002", value: 167772162 },
      { name: "nat", type: "dnat", family: "ip", reg_addr_min: 1, reg_addr_max: 1, flags: 1 },
    ]);
  });
  test("add set and map", () => {
    expect(find((b) => b.object === "set" && b.name === "s1")).toEqual({
      action: "add", object: "set", family: "inet", family_num: 1, res_id: 7, table: "t1", name: "s1", handle: 3,
      key_type: 7, key_len: 4, userdata_len: 6,
    });
    expect(find((b) => b.object === "set" && b.name === "vm")).toMatchObject({ flags: ["map"], data_type: "verdict", data_len: 16 });
  });
  test("add element", () => {
    expect(find((b) => b.object === "element" && b.name === "s1")).toEqual({
      action: "add", object: "element", family: "inet", family_num: 1, res_id: 8, table: "t1", name: "s1",
      elem: [{ key: "0a000007", key_num: 167772167 }],
    });
    expect(find((b) => b.object === "element" && b.name === "vm" && b.elem![0]!.chain !== undefined).elem).toEqual([
      { key: "0a00000a", key_num: 167772170, verdict: "jump", chain: "c2" },
    ]);
  });
  test("new generation", () => {
    expect(find((b) => b.object === "gen")).toEqual({
      object: "gen", family: "unspec", family_num: 0, res_id: 2, gen_id: 2, pid: 5421, proc_name: "nft",
    });
  });
  test("bodies are plain JSON", () => {
    for (const b of BODIES) expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });
});

describe("nf_tables decoding of malformed input", () => {
  test("message types without a change are not decoded", () => {
    const m = MSGS[0]!;
    for (const t of [NFT_MSG_GETRULE, NFT_MSG_TRACE]) {
      const ctx = newCtx();
      expect(decode({ ...m, hdr: { ...m.hdr, type: (NFNL_SUBSYS_NFTABLES << 8) | t } }, ctx)).toBeUndefined();
      expect(ctx.total).toBe(0);
    }
  });

  test("a body shorter than nfgenmsg is reported as truncated", () => {
    const m = MSGS.find((x) => (x.hdr.type & 0xff) === NFT_MSG_NEWTABLE)!;
    for (let n = 0; n < SIZEOF.nfgenmsg; n++) {
      const ctx = newCtx();
      expect(decode(m, ctx, HDR + n)).toBeUndefined();
      expect(ctx.counts.truncated).toBe(1);
    }
  });

  test("every truncation of every message: no throw, and reported unless cut between attributes", () => {
    for (const m of MSGS) {
      // where the top-level attributes end: a cut there leaves a well-formed, shorter message
      const clean = new Set<number>();
      const full = decode(m, newCtx());
      expect(full).toBeDefined();
      const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      for (let p = HDR + SIZEOF.nfgenmsg; p <= m.bytes.length;) {
        clean.add(p);
        if (p + 4 > m.bytes.length) break;
        const len = dv.getUint16(p, true);
        // a cut in an attribute's padding loses nothing
        for (let q = p + len; q < p + ((len + 3) & ~3); q++) clean.add(q);
        p += (len + 3) & ~3;
      }
      for (let cut = HDR; cut < m.bytes.length; cut++) {
        const ctx = newCtx();
        const body = decode(m, ctx, cut);
        if (cut - HDR < SIZEOF.nfgenmsg) expect(body).toBeUndefined();
        else {
          expect(body!.object).toBe(full!.object);
          expect(() => JSON.stringify(body)).not.toThrow();
        }
        if (!clean.has(cut)) expect(ctx.total, `cut at ${cut} of ${m.bytes.length}`).toBeGreaterThan(0);
      }
    }
  });

  test("byte-mutated messages never throw; broken lengths are reported", () => {
    let seed = 0x6e667431;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let reported = 0;
    let tries = 0;
    for (const m of MSGS) {
      for (let k = 0; k < 60; k++) {
        const b = m.bytes.slice();
        const flips = 1 + rnd(4);
        for (let f = 0; f < flips; f++) b[HDR + rnd(b.length - HDR)] = rnd(256);
        const ctx = newCtx();
        tries++;
        let body: NftBody | undefined;
        expect(() => { body = decode({ hdr: m.hdr, bytes: b }, ctx); }).not.toThrow();
        expect(() => JSON.stringify(body)).not.toThrow();
        if (ctx.total > 0) reported++;
      }
      // an attribute length running past the message
      const b = m.bytes.slice();
      const first = HDR + SIZEOF.nfgenmsg;
      if (first + 4 <= b.length) {
        new DataView(b.buffer).setUint16(first, 0xfff0, true);
        const ctx = newCtx();
        expect(() => decode({ hdr: m.hdr, bytes: b }, ctx)).not.toThrow();
        expect(ctx.counts.bad_attr_len).toBeGreaterThan(0);
      }
    }
    expect(reported).toBeGreaterThan(tries / 4);
  });

  test("unknown message subtypes of every NEW/DEL kind with random bodies never throw", () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let t = 0; t < 32; t++) {
      for (let k = 0; k < 50; k++) {
        const len = HDR + rnd(200);
        const b = new Uint8Array(len);
        for (let i = HDR; i < len; i++) b[i] = rnd(256);
        // plausible attribute headers now and then, so nests get entered
        for (let i = HDR + SIZEOF.nfgenmsg; i + 4 <= len; i += 4 + rnd(12)) {
          if (rnd(2)) { b[i] = 4 + rnd(len - i - 3); b[i + 1] = 0; b[i + 2] = rnd(20); b[i + 3] = rnd(2) ? 0x80 : 0; }
        }
        const hdr = { len, type: (NFNL_SUBSYS_NFTABLES << 8) | t, flags: rnd(0x1000), seq: 0, pid: 0 };
        expect(() => decode({ hdr, bytes: b }, newCtx())).not.toThrow();
      }
    }
  });
});
