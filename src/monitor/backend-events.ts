/** What the backend reports, each to the role it concerns. */
import type { BackendEvent } from "../backend/types.ts";
import { protocolName } from "../decode/message.ts";
import { STATE_FAMILY } from "../families/index.ts";
import type { Log } from "../log.ts";
import type { NlmonMetrics } from "../metrics/registry.ts";
import type { Batches } from "./batches.ts";
import type { OverrunReports } from "./overrun-report.ts";
import type { ResyncSchedule } from "./resync-schedule.ts";

export interface BackendEventDeps {
  log: Log;
  metrics: NlmonMetrics;
  batches: Batches;
  overrunReports: OverrunReports;
  schedule: ResyncSchedule;
  /** a socket failed: open it again */
  reconnect: () => void;
  /** notifications were lost on a socket whose state another role repairs (conntrack's) */
  overrun?: (protocol: number) => void;
}

export class BackendEvents {
  /** receive-queue overruns (ENOBUFS) so far */
  overruns = 0;

  constructor(private readonly d: BackendEventDeps) {}

  readonly listener = (ev: BackendEvent): void => {
    const { log, metrics, overrunReports } = this.d;
    switch (ev.kind) {
      case "batch":
        if (log.enabled("trace", "netlink")) {
          log.trace("netlink", `batch: protocol ${ev.batch.protocol}, ${ev.batch.offsets.length - 1} datagrams, ${ev.batch.data.length} bytes`);
        }
        this.d.batches.add(ev.batch);
        break;
      case "overrun":
        this.overruns++;
        metrics.errors.inc({ protocol: protocolName(ev.protocol), kind: "enobufs" });
        // one report per burst, when it is over (overrun-report.ts)
        overrunReports.overrun(ev.protocol, ev.count);
        // the caches hold rtnetlink objects; lost generic messages have nothing to repair
        if (ev.protocol === STATE_FAMILY.protocol) this.d.schedule.schedule("resync", 20);
        else this.d.overrun?.(ev.protocol);
        break;
      case "drops":
        overrunReports.drops(ev.protocol, ev.drops);
        // the kernel drops silently until the queue has been emptied once after an ENOBUFS, so a
        // re-dump begun before this point can miss changes: one more (coalesced with any pending)
        if (ev.protocol === STATE_FAMILY.protocol) this.d.schedule.schedule("resync", 20);
        else this.d.overrun?.(ev.protocol);
        break;
      case "error":
        metrics.errors.inc({ protocol: ev.protocol >= 0 ? protocolName(ev.protocol) : "none", kind: "recv" });
        log.warn("netlink", ev.message);
        break;
      case "failed":
        metrics.errors.inc({ protocol: ev.protocol >= 0 ? protocolName(ev.protocol) : "none", kind: "socket" });
        log.error("netlink", `socket failed: ${ev.message}`);
        overrunReports.socketsReplaced();
        this.d.reconnect();
        break;
      case "reconnected":
        break;
      case "namespace":
        if (ev.change === "failed") log.warn("netlink", ev.message);
        else log.info("netlink", ev.message);
        break;
    }
  };
}
