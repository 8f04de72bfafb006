/**
 * --status: ask the running daemon through its control socket and print what it says, as sections
 * an operator greps (`nlmon --status | grep -A 10 "Netlink Protocols"`), or with --json as the
 * daemon's own object. No daemon is exit 1, naming the path that was tried.
 */
import type { NlmonConfig } from "../config/types.ts";
import { ControlUnreachable, controlRequest } from "../control/client.ts";
import type { StatusReport } from "../control/protocol.ts";
import { controlSocketPath } from "../control/socket-path.ts";

export interface StatusOptions {
  cfg: NlmonConfig;
  json: boolean;
  out: (s: string) => Promise<unknown>;
  err: (s: string) => void;
}

export async function runStatus(o: StatusOptions): Promise<number> {
  const path = controlSocketPath(o.cfg.control.socket);
  const off = o.cfg.control.enabled ? "" : " (control.enabled is false in this config, so a daemon running with it has no control socket)";
  let reply;
  try {
    reply = await controlRequest(path, { cmd: "status" });
  } catch (e) {
    if (e instanceof ControlUnreachable) {
      const why = e.code === "ENOENT" || e.code === "ECONNREFUSED"
        ? `no nlmon daemon is running: nothing answers on ${path}${off || ` (a daemon whose config sets control.socket listens elsewhere: give --status the same --config)`}`
        : e.code === "EACCES"
          ? `cannot connect to ${path}: permission denied (the socket is mode 0600, its owner's: run --status as the daemon's user or root)`
          : `cannot connect to ${path}: ${e.code ? `${e.code}: ` : ""}${e.message}`;
      o.err(`nlmon: ${why}\n`);
      return 1;
    }
    o.err(`nlmon: ${path}: ${(e as Error).message}\n`);
    return 1;
  }
  if (!reply.ok) {
    o.err(`nlmon: the daemon on ${path} answered: ${reply.error}\n`);
    return 1;
  }
  if (!reply.status) {
    o.err(`nlmon: the daemon on ${path} sent no status\n`);
    return 1;
  }
  await o.out(o.json ? JSON.stringify(reply.status, null, 2) + "\n" : formatStatus(reply.status, path));
  return 0;
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return [d ? `${d}d` : "", d || h ? `${h}h` : "", `${m}m`, `${sec}s`].filter(Boolean).join(" ");
}

function ago(iso: string | null): string {
  if (!iso) return "none yet";
  const ms = Date.now() - Date.parse(iso);
  return Number.isFinite(ms) ? `${iso} (${duration(Math.max(0, ms) / 1000)} ago)` : iso;
}

/** a hook's or alert's report, whatever its fields: name first, the rest as key value */
function describe(o: object): string {
  const rec = o as Record<string, unknown>;
  const name = typeof rec.name === "string" ? rec.name : "";
  const rest = Object.entries(rec).filter(([k, v]) => k !== "name" && v !== "" && v !== undefined).map(([k, v]) => `${k} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`);
  return `${name ? name + ": " : ""}${rest.join(", ")}`;
}

export function formatStatus(s: StatusReport, path: string): string {
  const L: string[] = [];
  L.push("Netlink Protocols");
  if (!s.protocols.length) L.push("  none open");
  for (const p of s.protocols) {
    const buf = p.receive_buffer ? `, receive buffer ${p.receive_buffer.bytes} bytes${p.receive_buffer.forced ? " (forced)" : ""}` +
      (p.receive_buffer.bytes < p.receive_buffer.configured ? ` of ${p.receive_buffer.configured} configured` : "") : "";
    L.push(`  ${p.protocol}: backend ${p.backend}${p.library ? ` (${p.library})` : ""}${buf}`);
    if (p.families) {
      L.push(`    families: ${p.families.map((f) => `${f.name} (id ${f.id}${f.groups.length ? `; ${f.groups.join(" ")}` : ""})`).join(", ") || "none"}` +
        (p.missing_families?.length ? `; absent from the kernel: ${p.missing_families.join(", ")}` : ""));
    } else {
      L.push(`    groups: ${p.groups.join(" ") || "none"} (${p.groups.length})`);
    }
    L.push(`    messages ${p.messages}, events ${p.events}, decode errors ${p.decode_errors}, ENOBUFS ${p.enobufs}, resyncs ${p.resyncs}`);
    L.push(`    last message: ${ago(p.last_message)}`);
  }
  if (s.failed_protocols.length) L.push(`  not open: ${s.failed_protocols.join(", ")} (the daemon's log says why)`);
  if (s.namespace) L.push(`  namespace: ${s.namespace}`);

  L.push("", "Caches");
  if (!s.caches.length) L.push("  none (netlink.caching)");
  for (const c of s.caches) L.push(`  ${c.cache}: ${c.objects} objects, resyncs ${c.resyncs}`);

  L.push("", "Filters");
  L.push(`  filter: ${s.filters.filter ? JSON.stringify(s.filters.filter) : "none (every event passes)"}`);
  L.push(`  events passed ${s.filters.passed}, dropped ${s.filters.dropped}`);
  for (const f of s.filters.named ?? []) L.push(`  named ${f.name} (${f.action}): ${JSON.stringify(f.expr)}`);
  for (const [ex, f] of Object.entries(s.filters.exports ?? {})) L.push(`  export ${ex}'s own: ${JSON.stringify(f)}`);

  L.push("", "Hooks and Alerts");
  if (!s.automation.hooks.length && !s.automation.alerts.length) L.push("  none configured");
  for (const h of s.automation.hooks) L.push(`  hook ${describe(h)}`);
  for (const a of s.automation.alerts) L.push(`  alert ${describe(a)}`);

  L.push("", "Exports");
  if (!s.exports.length) L.push("  none");
  for (const e of s.exports) {
    L.push(`  ${e.export}: ${e.written === null ? "scraped, not written" : `written ${e.written}`}, dropped ${e.dropped}, queued ${e.queued}, errors ${e.errors}`);
  }

  const p = s.process;
  L.push("", "Process");
  L.push(`  pid ${s.pid}, nlmon ${s.version}, up ${duration(p.uptime_seconds)} (since ${p.started})`);
  L.push(`  RSS ${bytes(p.rss_bytes)}, RssAnon ${bytes(p.rss_anon_bytes)}, CPU ${p.cpu_seconds.toFixed(2)} s`);
  L.push(`  config ${p.config_path || "embedded default"}${p.config_sha256 ? `, sha256 ${p.config_sha256}` : ""}, loaded ${p.config_loaded}`);
  L.push(`  reloads: ${p.reloads.accepted} accepted, ${p.reloads.rejected} rejected${p.reloads.last_error ? ` (last rejected: ${p.reloads.last_error.split("\n").join("; ")})` : ""}`);
  L.push(`  control socket ${s.control?.socket || path}, ${s.control?.connections ?? 1} client${s.control?.connections === 1 ? "" : "s"} connected`);
  return L.join("\n") + "\n";
}
