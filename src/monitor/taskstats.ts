/**
 * taskstats sends exit records only to sockets that registered for the CPUs the task ran on
 * (TASKSTATS_CMD_GET with TASKSTATS_CMD_ATTR_REGISTER_CPUMASK), and only from the initial user and
 * pid namespaces. nlmon registers its monitoring socket for every online CPU once the socket is
 * open (and again after a reconnect opens a new one). A refusal comes back as an error reply
 * among the notifications; the monitor says why in words.
 */
import { fs } from "../node-lazy.ts";
import { AttrWriter } from "../codec/attr.ts";
import { genlRequest } from "../families/genl/message.ts";
import type { NlEvent } from "../event/model.ts";
import type { Log } from "../log.ts";
import { EINVAL, EPERM, NLM_F_REQUEST } from "../uapi/linux.gen.ts";
import { TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION } from "../uapi/taskstats.gen.ts";

/** the family's name as the kernel registers it (TASKSTATS_GENL_NAME, a string gen-uapi cannot carry) */
export const TASKSTATS_NAME = "TASKSTATS";

/** the kernel's own list of online CPUs, already in the cpulist form the attribute takes ("0-1") */
export function onlineCpus(): string {
  try {
    const t = fs().readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
    if (/^[0-9,-]+$/.test(t)) return t;
  } catch {
    // no sysfs (a container without it): CPU 0 onwards by count
  }
  const n = navigator.hardwareConcurrency || 1;
  return n > 1 ? `0-${n - 1}` : "0";
}

export function registerRequest(familyId: number, cpus: string): Uint8Array {
  // no NLM_F_ACK: a success would be one more event in the stream; a refusal is answered anyway
  return genlRequest(familyId, NLM_F_REQUEST, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION, new AttrWriter().string(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, cpus));
}

export class TaskstatsRegistration {
  private familyId: number | undefined;

  constructor(private readonly log: Log) {}

  async register(send: ((protocol: number, msg: Uint8Array) => Promise<void>) | undefined, protocol: number, familyId: number): Promise<void> {
    this.familyId = familyId;
    if (!send) {
      this.log.warn("genl", "taskstats: this backend cannot send on its monitoring socket; no exit records will arrive");
      return;
    }
    const cpus = onlineCpus();
    try {
      await send(protocol, registerRequest(familyId, cpus));
      this.log.info("genl", `taskstats: registering for exit records of CPUs ${cpus} (the kernel answers only a refusal)`);
    } catch (e) {
      this.log.warn("genl", `taskstats: registering for exit records failed: ${(e as Error).message}`);
    }
  }

  /** an error reply to the registration, in words */
  observe(ev: NlEvent): void {
    const e = ev.netlink.error;
    if (ev.type !== "error" || !e || this.familyId === undefined || e.orig_msg_type !== this.familyId || e.error === 0) return;
    const why = -e.error === EINVAL || -e.error === EPERM
      ? " (the kernel takes taskstats listeners only from the initial user and pid namespaces: run nlmon outside containers and user namespaces)"
      : "";
    this.log.warn("genl", `taskstats: the kernel refused the registration: ${e.error_name}${e.message ? ` (${e.message})` : ""}${why}`);
  }
}
