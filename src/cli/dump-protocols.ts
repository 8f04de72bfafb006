/**
 * --dump-events for the protocols whose state is not rtnetlink's: the nf_tables ruleset and the
 * conntrack table (protocols.netfilter), and the sockets (protocols.sock_diag, as the config's
 * sock_diag section filters them). Lines are in the deterministic form, sorted within each kind.
 * Conntrack timeouts and TCP counters move by the second, so these lines differ between runs even
 * on an idle machine; what is compared is which objects there are.
 */
import type { Backend } from "../backend/types.ts";
import type { SockDiagConfig } from "../config/types.ts";
import { BasicContext } from "../decode/context.ts";
import { decodeDump } from "../decode/dump.ts";
import { Names } from "../decode/names.ts";
import type { NlEvent } from "../event/model.ts";
import { familyOf } from "../families/index.ts";
import { NETLINK_NETFILTER, NETLINK_SOCK_DIAG } from "../uapi/linux.gen.ts";

/** each decoded event of a dump; what the kernel refused and what could not be decoded, said */
function decodeAll(protocol: number, datagrams: Uint8Array[], ctx: BasicContext, warn: (s: string) => void, each: (ev: NlEvent) => void, subject?: string) {
  const snap = decodeDump(datagrams, ctx, protocol, { sink: each, subject });
  for (const r of snap.refused) warn(`dump refused by the kernel: ${r}`);
  if (snap.decodeErrors) warn(`${snap.decodeErrors} decode errors in the dump of protocol ${protocol} (events carry decode_error)`);
}

/** the ruleset, then the conntrack table */
export async function netfilterSnapshot(backend: Backend, warn: (s: string) => void): Promise<string[]> {
  const ctx = new BasicContext(new Names());
  const out: string[] = [];
  for (const r of familyOf(NETLINK_NETFILTER)!.dumpRequests()) {
    let datagrams: Uint8Array[];
    try {
      datagrams = await backend.dump(NETLINK_NETFILTER, [r.request]);
    } catch (e) {
      warn(`${r.type} dump refused: ${(e as Error).message}`);
      continue;
    }
    const lines: string[] = [];
    decodeAll(NETLINK_NETFILTER, datagrams, ctx, warn, (ev) => lines.push(JSON.stringify(ev)));
    out.push(...lines.sort());
  }
  return out;
}

/** the sockets the config's sock_diag section asks for */
export async function socketSnapshot(backend: Backend, cfg: SockDiagConfig, warn: (s: string) => void): Promise<string[]> {
  const { sockDiagPlan } = await import("../monitor/socket-plan.ts");
  const ctx = new BasicContext(new Names());
  const lines: string[] = [];
  for (const q of sockDiagPlan(cfg).requests) {
    let datagrams: Uint8Array[];
    try {
      datagrams = await backend.dump(NETLINK_SOCK_DIAG, [q.request]);
    } catch (e) {
      warn(`${q.protocol} socket dump refused: ${(e as Error).message}`);
      continue;
    }
    decodeAll(NETLINK_SOCK_DIAG, datagrams, ctx, warn, (ev) => {
      if (ev.netlink.diag) lines.push(JSON.stringify(ev));
    }, q.protocol);
  }
  return lines.sort();
}
