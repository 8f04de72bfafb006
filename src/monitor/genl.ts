/**
 * Generic netlink families by name: one nlctrl dump lists every family with its id and multicast
 * groups. With the libnl backend each requested family and group is also resolved by libnl
 * (genl_ctrl_resolve, genl_ctrl_resolve_grp), and the two must agree.
 *
 * Names are matched as the kernel spells them. The kernel's own lookup is case-sensitive, but its
 * families are not consistently cased (TASKSTATS, SEG6, nl80211, ethtool) and the migration guide
 * writes `taskstats`, so a name that differs only in case is taken, with a note saying so.
 */
import type { Backend } from "../backend/types.ts";
import { genlResolve, genlResolveGroup, LibnlSocket, loadLibnl } from "../backend/libnl/binding.ts";
import { BasicContext } from "../decode/context.ts";
import { type GenlFamily, getFamilyDump, genlRegistry } from "../families/genl/index.ts";
import { Names } from "../decode/names.ts";
import { decodeDump } from "../decode/dump.ts";
import { GENL_ID_CTRL, NETLINK_GENERIC } from "../uapi/linux.gen.ts";
import { genlPolicies, getPolicyDump, parsePolicyDump } from "../families/genl/policy.ts";
import { subfamily } from "../families/genl/subfamilies.ts";

export class GenlResolveError extends Error {
  override name = "GenlResolveError";
}

/** Every family the kernel has now, into the process-wide registry. */
export async function loadGenlFamilies(backend: Pick<Backend, "dump">): Promise<Map<string, GenlFamily>> {
  const datagrams = await backend.dump(NETLINK_GENERIC, [getFamilyDump()]);
  decodeDump(datagrams, new BasicContext(new Names()), NETLINK_GENERIC);
  return genlRegistry.byName;
}

export type FamilyMatch =
  | { found: GenlFamily; note?: string }
  | { found?: undefined; problem: string };

/** The kernel's family for a configured name: the exact spelling, else the one spelling that differs only in case. */
export function matchFamily(all: ReadonlyMap<string, GenlFamily>, wanted: string): FamilyMatch {
  const exact = all.get(wanted);
  if (exact) return { found: exact };
  const fold = [...all.values()].filter((f) => f.name.toLowerCase() === wanted.toLowerCase());
  if (fold.length === 1) {
    const f = fold[0]!;
    return { found: f, note: `generic netlink family '${wanted}' is the kernel's '${f.name}' (the names differ only in case; write '${f.name}' to match exactly)` };
  }
  if (fold.length > 1) {
    return { problem: `Failed to resolve family '${wanted}': the kernel has ${fold.map((f) => `'${f.name}'`).join(" and ")}, which differ only in case; write the one meant exactly` };
  }
  return { problem: missingFamily(wanted, all) };
}

/** what provides a family, where the migration guide names it */
const MODULES: Record<string, string> = { nl80211: "cfg80211" };

/** The guide's words for a family the kernel does not have, with the list of those it has. */
export function missingFamily(wanted: string, all: ReadonlyMap<string, GenlFamily>): string {
  const mod = MODULES[wanted.toLowerCase()];
  const load = mod ? `lsmod | grep ${wanted}; modprobe ${mod}` : "load the kernel module that provides it";
  return `Failed to resolve family '${wanted}': the kernel has no generic netlink family of that name ` +
    `(it has: ${[...all.keys()].sort().join(", ")}). Ensure the kernel module is loaded (${load})`;
}

/** Whether nlctrl's `name` is the configured `wanted`, by the rule used at start (exact, or only the case differs). */
export function sameFamily(wanted: string, name: string): boolean {
  return wanted === name || wanted.toLowerCase() === name.toLowerCase();
}

/** Resolve every configured family or fail naming the first one missing (the library API wants ids). */
export async function resolveFamilies(backend: Pick<Backend, "dump">, wanted: string[], libnl?: { library?: string }): Promise<GenlFamily[]> {
  const all = await loadGenlFamilies(backend);
  const out: GenlFamily[] = [];
  for (const name of wanted) {
    const m = matchFamily(all, name);
    if (!m.found) throw new GenlResolveError(m.problem);
    out.push(m.found);
  }
  if (libnl) crossCheckWithLibnl(out, libnl.library);
  return out;
}

export interface Resolution {
  found: GenlFamily[];
  /** configured names the kernel does not have (yet) */
  missing: string[];
  /** one line per name matched only by case, and one per missing name */
  notes: string[];
  warnings: string[];
}

/** Resolve what exists now; a missing family is reported, not fatal, so it can be joined when it appears. */
export async function resolveAvailable(backend: Pick<Backend, "dump">, wanted: string[], libnl?: { library?: string }): Promise<Resolution> {
  const all = await loadGenlFamilies(backend);
  const r: Resolution = { found: [], missing: [], notes: [], warnings: [] };
  for (const name of wanted) {
    const m = matchFamily(all, name);
    if (m.found) {
      if (!r.found.includes(m.found)) r.found.push(m.found);
      if (m.note) r.notes.push(m.note);
    } else {
      r.missing.push(name);
      r.warnings.push(`${m.problem}. nlmon keeps running and joins the family's groups when it appears.`);
    }
  }
  if (libnl) crossCheckWithLibnl(r.found, libnl.library);
  return r;
}

function crossCheckWithLibnl(families: GenlFamily[], library?: string) {
  const { lib } = loadLibnl({ library });
  const sock = new LibnlSocket(lib, "generic");
  try {
    sock.connect();
    for (const f of families) {
      const id = genlResolve(sock, f.name);
      if (id !== f.id) throw new GenlResolveError(`libnl resolves family '${f.name}' to ${id}, nlctrl's dump says ${f.id}`);
      for (const [g, gid] of Object.entries(f.groups)) {
        const lid = genlResolveGroup(sock, f.name, g);
        if (lid !== gid) throw new GenlResolveError(`libnl resolves group '${f.name}/${g}' to ${lid}, nlctrl's dump says ${gid}`);
      }
    }
  } finally {
    sock.close();
  }
}

/**
 * The kernel's attribute policies of each family nlmon has no table for, so its events are typed
 * (families/genl/policy.ts). A kernel without CTRL_CMD_GETPOLICY (before 5.10), or a family that
 * went away meanwhile, leaves the family decoded by shape; the returned lines say which.
 */
export async function loadPolicies(backend: Pick<Backend, "dump">, families: readonly GenlFamily[]): Promise<string[]> {
  const problems: string[] = [];
  for (const f of families) {
    if (f.id === GENL_ID_CTRL || subfamily(f.name)) continue;
    try {
      const p = parsePolicyDump(await backend.dump(NETLINK_GENERIC, [getPolicyDump(f.id)]));
      genlPolicies.set(f.id, p);
      if (p.policies.size === 0) problems.push(`generic netlink family '${f.name}': the kernel gave no attribute policy; its attributes are shown by shape`);
    } catch (e) {
      problems.push(`generic netlink family '${f.name}': its attribute policy could not be read (${(e as Error).message}); its attributes are shown by shape`);
    }
  }
  return problems;
}
