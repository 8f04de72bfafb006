/**
 * The daemon's exports, and their replacement on a reload. An export whose config section did not
 * change is kept as it is (its queue, its open file, its connection). One that changed is built
 * anew and started before anything is swapped, so an export that cannot start (a port in use)
 * rejects the reload with the old set untouched; the new one then holds its events until the old
 * one has drained, so standard output or a shared file never sees them out of order.
 */
import type { NlmonConfig } from "../config/types.ts";
import { buildExporters } from "../export/build.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { Log } from "../log.ts";
import { CountedExport } from "./counted-export.ts";
import { stableJson } from "./reload.ts";

const KINDS = ["json", "syslog", "prometheus", "pcap"] as const;
type Kind = (typeof KINDS)[number];

/** how many events a replacement may hold while its predecessor drains: its own queue's size */
function holdCapacity(cfg: NlmonConfig, name: string): number {
  const e = cfg.export;
  return name === "json" ? e.json.queue_size : name === "syslog" ? e.syslog.queue_size : name === "pcap" ? e.pcap.queue_size : 0;
}

export async function buildCounted(cfg: NlmonConfig, metrics: NlmonMetrics, log: Log, onNoReader: () => void): Promise<CountedExport[]> {
  const built = await buildExporters(cfg, metrics, log.as("export", "warn"), onNoReader);
  return built.map((ex) => new CountedExport(ex, metrics, holdCapacity(cfg, ex.name)));
}

export interface ExportChange {
  kept: string[];
  replaced: string[];
  added: string[];
  removed: string[];
}

export class ExportSet {
  constructor(
    private readonly pipeline: Pipeline,
    private readonly metrics: NlmonMetrics,
    private readonly log: Log,
    private readonly onNoReader: () => void,
  ) {}

  /** the exports in force: the pipeline's own list, which Monitor.stop() closes */
  get list(): CountedExport[] {
    return this.pipeline.exporters as CountedExport[];
  }

  /**
   * Bring the exports to `next`'s. Throws when a new export cannot start; nothing has changed then.
   * `swap` runs synchronously with the exchange, so no event falls between the old list and the
   * new filters: it applies the filters, which are planned per export.
   */
  async apply(old: NlmonConfig, next: NlmonConfig, swap: () => void): Promise<ExportChange> {
    const changed = KINDS.filter((k) => stableJson(old.export[k]) !== stableJson(next.export[k]));
    const change: ExportChange = { kept: [], replaced: [], added: [], removed: [] };
    const current = new Map(this.list.map((ex) => [ex.name, ex]));
    if (!changed.length) {
      change.kept = [...current.keys()];
      swap();
      return change;
    }
    // only the changed sections are built: the others stay disabled in this copy
    const partial: NlmonConfig = { ...next, export: { ...next.export } };
    for (const k of KINDS) if (!changed.includes(k)) (partial.export as Record<Kind, { enabled: boolean }>)[k] = { ...next.export[k], enabled: false };
    const fresh = await buildCounted(partial, this.metrics, this.log, this.onNoReader);
    const started: CountedExport[] = [];
    /** exports closed early to free what the new one needs (Prometheus' port), to start again on failure */
    const stoppedEarly: CountedExport[] = [];
    try {
      for (const ex of fresh) {
        const prev = current.get(ex.name);
        if (ex.name === "prometheus" && prev) {
          await prev.close();
          stoppedEarly.push(prev);
        }
        await ex.start();
        started.push(ex);
      }
    } catch (e) {
      await Promise.all(started.map((ex) => ex.close().catch(() => {})));
      for (const prev of stoppedEarly) await prev.start().catch((err) => this.log.error("export", `${prev.name}: cannot start again after a failed reload: ${(err as Error).message}`));
      throw e;
    }
    const byName = new Map(fresh.map((ex) => [ex.name, ex]));
    const list: CountedExport[] = [];
    const retire: CountedExport[] = [];
    for (const ex of this.list) {
      const k = ex.name as Kind;
      if (!changed.includes(k)) {
        list.push(ex);
        change.kept.push(ex.name);
        continue;
      }
      const nw = byName.get(ex.name);
      if (nw) {
        if (stoppedEarly.includes(ex)) nw.inherit(ex);
        else void nw.replace(ex).catch((err) => this.log.warn("export", `${ex.name}: closing the replaced export: ${(err as Error).message}`));
        list.push(nw);
        byName.delete(ex.name);
        change.replaced.push(ex.name);
      } else {
        retire.push(ex);
        change.removed.push(ex.name);
      }
    }
    for (const nw of byName.values()) {
      list.push(nw);
      change.added.push(nw.name);
    }
    // one synchronous step: the pipeline's list (shared with its line path) and its filter plan
    this.list.splice(0, this.list.length, ...list);
    swap();
    for (const ex of retire) void ex.retire().catch((err) => this.log.warn("export", `${ex.name}: closing the removed export: ${(err as Error).message}`));
    return change;
  }

  /** SIGHUP's other half: files reopened for logrotate */
  reopen(): void {
    for (const ex of this.list) ex.reopen();
  }
}
