/**
 * taskstats: the kernel's exit record of each task (and of each thread group when its last task
 * exits), sent to the sockets registered for the CPUs it ran on (TASKSTATS_CMD_ATTR_REGISTER_CPUMASK:
 * monitor/taskstats.ts). The record is struct taskstats, which grows by version: fields are read
 * by the offsets and sizes the header nlmon was built with (gen-uapi), each only if the received
 * record holds it, and bytes of a newer version are counted rather than guessed at.
 */
import type { TaskstatsBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { GenlSubfamily } from "../genl/subfamily.ts";
import { AttrReader } from "../../codec/reader.ts";
import { cstring } from "../../codec/format.ts";
import { shortNames } from "../../decode/names.ts";
import {
  FIELDSIZE, NAMES, OFFSETOF, SIZEOF, TASKSTATS_TYPE_AGGR_PID, TASKSTATS_TYPE_AGGR_TGID, TASKSTATS_TYPE_PID,
  TASKSTATS_TYPE_STATS, TASKSTATS_TYPE_TGID,
} from "../../uapi/taskstats.gen.ts";

const CMD_NAMES = shortNames(NAMES.taskstats_cmd, "TASKSTATS_CMD_");

/** [name, offset, size] of every field, in the struct's order; padding is not a field */
const FIELDS: [string, number, number][] = Object.entries(FIELDSIZE)
  .filter(([k]) => k.startsWith("taskstats.") && !k.endsWith(".ac_pad"))
  .map(([k, size]) => [k.slice("taskstats.".length), OFFSETOF[k as keyof typeof OFFSETOF], size] as [string, number, number])
  .sort((a, b) => a[1] - b[1]);

/** text fields (char arrays); every other field is an unsigned integer of its size */
const TEXT = new Set(["ac_comm"]);

function readStats(dv: DataView, off: number, len: number, out: TaskstatsBody, key: "stats" | "tgid_stats") {
  const s: Record<string, number | string> = {};
  for (const [name, at, size] of FIELDS) {
    if (at + size > len) break;
    const p = off + at;
    if (TEXT.has(name)) s[name] = cstring(dv, p, size);
    else if (size === 1) s[name] = dv.getUint8(p);
    else if (size === 2) s[name] = dv.getUint16(p, true);
    else if (size === 4) s[name] = dv.getUint32(p, true);
    else if (size === 8) {
      const v = dv.getBigUint64(p, true);
      s[name] = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
  }
  out[key] = s;
  if (len > SIZEOF.taskstats) out.unknown_tail_bytes = len - SIZEOF.taskstats;
}

/** one TASKSTATS_TYPE_AGGR_PID or _AGGR_TGID nest: the id and the record */
function readAggr(r: AttrReader, out: TaskstatsBody, tgid: boolean, ctx: DecodeContext) {
  const n = r.nest();
  while (n.next()) {
    if (n.type === TASKSTATS_TYPE_PID && !tgid) out.pid = n.u32();
    else if (n.type === TASKSTATS_TYPE_TGID && tgid) out.tgid = n.u32();
    else if (n.type === TASKSTATS_TYPE_STATS) readStats(n.dv, n.off, n.len, out, tgid ? "tgid_stats" : "stats");
    else ctx.unknownAttr(tgid ? "taskstats.aggr_tgid" : "taskstats.aggr_pid", n.type);
  }
  if (n.err) ctx.error("bad_attr_len", `taskstats: ${n.err}`);
}

export function decodeTaskstats(cmd: number, version: number, dv: DataView, off: number, end: number, ctx: DecodeContext): TaskstatsBody {
  const body: TaskstatsBody = { cmd, version };
  const name = CMD_NAMES[cmd];
  if (name) body.cmd_name = name;
  const r = new AttrReader(dv, off, end);
  while (r.next()) {
    if (r.type === TASKSTATS_TYPE_AGGR_PID) readAggr(r, body, false, ctx);
    else if (r.type === TASKSTATS_TYPE_AGGR_TGID) readAggr(r, body, true, ctx);
    else if (r.type === TASKSTATS_TYPE_PID) body.pid = r.u32();
    else if (r.type === TASKSTATS_TYPE_TGID) body.tgid = r.u32();
    else if (r.type === TASKSTATS_TYPE_STATS) readStats(r.dv, r.off, r.len, body, "stats");
    else ctx.unknownAttr("taskstats", r.type);
  }
  if (r.err) ctx.error("bad_attr_len", `taskstats: ${r.err}`);
  return body;
}

export const taskstatsFamily: GenlSubfamily = {
  // the kernel registers it in capitals (TASKSTATS_GENL_NAME)
  name: "TASKSTATS",
  type: "taskstats",
  cmdName: (cmd) => CMD_NAMES[cmd],
  decode: decodeTaskstats,
};
