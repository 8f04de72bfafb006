/**
 * Kernel constants a filter may name, from every generated UAPI table. linux.gen.ts is part of
 * every monitor anyway; the others (nl80211's alone is ~700 names) are required the first time a
 * filter is read, so a monitor without a filter never holds them. require() is synchronous, as
 * parsing a filter is.
 */
import * as LINUX from "../uapi/linux.gen.ts";

type Table = Record<string, unknown>;

/** the tables besides linux.gen.ts, loaded on first use */
const LOADERS: readonly (() => Table)[] = [
  () => require("../uapi/netfilter.gen.ts") as Table,
  () => require("../uapi/sock_diag.gen.ts") as Table,
  () => require("../uapi/nl80211.gen.ts") as Table,
  () => require("../uapi/taskstats.gen.ts") as Table,
  () => require("../uapi/genl-names.gen.ts") as Table,
];

let all: Map<string, number> | undefined;

function table(): Map<string, number> {
  if (all) return all;
  const m = new Map<string, number>();
  for (const t of [LINUX as unknown as Table, ...LOADERS.map((load) => load())]) {
    for (const [k, v] of Object.entries(t)) {
      // the first table to define a name wins; the generated tables agree where they overlap
      if (typeof v === "number" && !m.has(k)) m.set(k, v);
    }
  }
  all = m;
  return m;
}

export function constant(name: string): number | undefined {
  return table().get(name);
}

export function constantNames(): Iterable<string> {
  return table().keys();
}

/** whether the tables beyond linux.gen.ts have been loaded (for the test that a monitor without a filter does not) */
export function constantsLoaded(): boolean {
  return all !== undefined;
}
