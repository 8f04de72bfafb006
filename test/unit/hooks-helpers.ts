/** Events, pipelines and process checks shared by the hook and alert tests. */
import { existsSync, readFileSync } from "node:fs";
import { loadConfig } from "../../src/config/load.ts";
import type { NlmonConfig } from "../../src/config/types.ts";
import { Names } from "../../src/decode/names.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { Log } from "../../src/log.ts";
import { nlmonMetrics, type NlmonMetrics } from "../../src/metrics/registry.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { libc } from "../../src/ffi/libc.ts";
import * as K from "../../src/uapi/linux.gen.ts";

const hdr = (protocol: number, protocolName: string, msgType: number, msgTypeName: string) => ({
  protocol, protocol_name: protocolName, msg_type: msgType, msg_type_name: msgTypeName, msg_flags: 0,
});

/** an RTM_NEWLINK as the decoder makes it; down: no UP flag, operstate DOWN */
export function linkEvent(ifname: string, up: boolean, ifindex = 7): NlEvent {
  return {
    type: "link", protocol: 0, msg_type: 16,
    netlink: {
      ...hdr(0, "NETLINK_ROUTE", 16, "RTM_NEWLINK"),
      link: {
        ifindex, ifname, flags: up ? ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"] : ["BROADCAST", "MULTICAST"],
        flags_raw: up ? 0x11003 : 0x1002, mtu: 1500, operstate: up ? "UP" : "DOWN", address: "02:00:00:00:00:07",
      },
    },
  };
}

export function routeEvent(op: "new" | "del", dst: string, o: { table?: number; protocol?: number; implicit?: boolean; dev?: string } = {}): NlEvent {
  const table = o.table ?? 254;
  const protocol = o.protocol ?? 4;
  const ev: NlEvent = {
    type: "route", protocol: 0, msg_type: op === "new" ? 24 : 25,
    netlink: {
      ...hdr(0, "NETLINK_ROUTE", op === "new" ? 24 : 25, op === "new" ? "RTM_NEWROUTE" : "RTM_DELROUTE"),
      route: {
        family: "inet", type: 1, type_name: "unicast", dst, table, table_name: table === 254 ? "main" : String(table),
        protocol, protocol_name: protocol === 201 ? "201" : "static", scope: 0, scope_name: "universe", flags: [], flags_raw: 0,
        gateway: "10.9.0.2", dev: o.dev ?? "v0",
      },
    },
  };
  if (o.implicit) ev.implicit = true;
  return ev;
}

export function conntrackEvent(event: "new" | "update" | "destroy", src: string, sport: number): NlEvent {
  return {
    type: "conntrack", protocol: 12, msg_type: 0x100,
    netlink: {
      ...hdr(12, "NETLINK_NETFILTER", 0x100, "IPCTNL_MSG_CT_NEW"),
      conntrack: { event, family: "ipv4", family_num: 2, proto: "tcp", protonum: 6, original: { src, dst: "10.0.0.1", sport, dport: 80 } },
    },
  };
}

export function pipeline(o: { filter?: (ev: NlEvent) => boolean; metrics?: NlmonMetrics } = {}) {
  const metrics = o.metrics ?? nlmonMetrics();
  const p = new Pipeline({ names: new Names(), metrics, filter: o.filter });
  const seen: NlEvent[] = [];
  p.onEvent((pe) => seen.push(pe.event));
  let ts = 1_700_000_000_000_000_000n;
  const emit = (ev: NlEvent) => p.emit({ event: ev, tsNs: (ts += 1_000_000n), recvMono: 0 });
  return { p, metrics, seen, emit };
}

/** a Log that keeps every line (all levels) instead of writing it */
export function memLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  const log = new Log("trace");
  for (const l of ["error", "warn", "info", "debug", "trace"] as const) {
    (log as unknown as Record<string, (m: string, s: string) => void>)[l] = (m, s) => void lines.push(`${l}: ${m}: ${s}`);
  }
  return { log, lines };
}

export function config(yaml: string): NlmonConfig {
  return loadConfig({ text: yaml, path: "test.yaml" });
}

/** running, in the sense that matters for a killed process: not gone and not a zombie */
export function alive(pid: number): boolean {
  const f = `/proc/${pid}/stat`;
  if (!existsSync(f)) return false;
  let stat: string;
  try {
    stat = readFileSync(f, "utf8");
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

export async function until<T>(get: () => T, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (ok(v) || Date.now() > end) return v;
    await Bun.sleep(10);
  }
}

/**
 * A unix datagram socket bound at `path`, as a syslog daemon's /dev/log is: what nlmon sends
 * there is read back without blocking (poll with no wait, one datagram per read).
 */
export function dgramListener(path: string) {
  const c = libc();
  const fd = c.socket(K.AF_UNIX, K.SOCK_DGRAM | K.SOCK_NONBLOCK, 0);
  if (fd < 0) throw new Error(`socket: errno ${c.errno()}`);
  const p = new TextEncoder().encode(path);
  const sa = new Uint8Array(2 + p.length + 1);
  new DataView(sa.buffer).setUint16(0, K.AF_UNIX, true);
  sa.set(p, 2);
  if (c.bind(fd, sa, sa.length) < 0) throw new Error(`bind ${path}: errno ${c.errno()}`);
  const buf = new Uint8Array(65536);
  return {
    /** every datagram waiting now */
    drain(): string[] {
      const out: string[] = [];
      for (;;) {
        const n = c.readv(fd, buf);
        if (n <= 0) return out;
        out.push(new TextDecoder().decode(buf.subarray(0, n)));
      }
    },
    close() {
      c.close(fd);
    },
  };
}
