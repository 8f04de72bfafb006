/**
 * `conntrack -E -o extended,id` lines and nlmon's conntrack events brought to one comparable form:
 * the event, the protocol, both tuples, the TCP state and the id, which is what both show of a
 * change. Timeouts are left out (each reader sees the entry at its own moment only in theory;
 * the kernel sends one message to both, but conntrack prints no timeout for DESTROY).
 */
import type { NlEvent } from "../../src/event/model.ts";

export interface CtRecord {
  event: string;
  proto: string;
  orig: string;
  reply: string;
  state: string;
  id: number;
}

function tuple(kv: Record<string, string>): string {
  const parts = ["src", "dst", "sport", "dport", "type", "code", "id"].filter((k) => kv[k] !== undefined).map((k) => `${k}=${kv[k]}`);
  return parts.join(" ");
}

/** one line of `conntrack -E -o extended,id`, or undefined for anything else */
export function parseConntrackLine(line: string): CtRecord | undefined {
  const m = /^\s*\[(NEW|UPDATE|DESTROY)\]\s+(\S+)\s+\d+\s+(\S+)\s+\d+\s+(.*)$/.exec(line);
  if (!m) return undefined;
  const words = m[4]!.trim().split(/\s+/);
  let state = "";
  // the words before the first key=value: a timeout (not for DESTROY) and a TCP state
  while (words.length && !words[0]!.includes("=") && !words[0]!.startsWith("[")) {
    const w = words.shift()!;
    if (!/^\d+$/.test(w)) state = w;
  }
  const dirs: Record<string, string>[] = [{}, {}];
  let d = -1;
  let id = NaN;
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq < 0) continue;
    const k = w.slice(0, eq);
    const v = w.slice(eq + 1);
    if (k === "src") d++;
    if (d >= 0 && d < 2 && ["src", "dst", "sport", "dport", "type", "code"].includes(k)) dirs[d]![k] = v;
    // an ICMP tuple's id comes before the trailing entry id
    else if (k === "id" && d >= 0 && d < 2 && dirs[d]!.type !== undefined && dirs[d]!.id === undefined) dirs[d]!.id = v;
    else if (k === "id") id = Number(v);
  }
  return { event: m[1]!.toLowerCase(), proto: m[3]!, orig: tuple(dirs[0]!), reply: tuple(dirs[1]!), state, id };
}

function eventTuple(t: { src?: string; dst?: string; sport?: number; dport?: number; type?: number; code?: number; id?: number } | undefined): string {
  if (!t) return "";
  const kv: Record<string, string> = {};
  for (const k of ["src", "dst", "sport", "dport", "type", "code", "id"] as const) if (t[k] !== undefined) kv[k] = String(t[k]);
  return tuple(kv);
}

/** the same of one of nlmon's conntrack events */
export function eventRecord(ev: NlEvent): CtRecord | undefined {
  const b = ev.netlink.conntrack;
  if (!b || !b.event) return undefined;
  return { event: b.event, proto: b.proto ?? String(b.protonum), orig: eventTuple(b.original), reply: eventTuple(b.reply), state: b.state ?? "", id: b.id ?? NaN };
}

export const show = (r: CtRecord) => `${r.event} ${r.proto} ${r.state} [${r.orig}] [${r.reply}] id=${r.id}`;
