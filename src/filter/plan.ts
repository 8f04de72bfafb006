/**
 * A config's filters as the pipeline applies them to each event:
 *   1. a named filter with action drop that matches: the event goes nowhere;
 *   2. each named filter with action log that matches: a line in nlmon's log;
 *   3. the distinct predicates of the exports and the global filter, each evaluated once; an
 *      export takes the event when its own filter passes it, or, having none, the global one.
 * Action alert filters are kept by name for the alert rules; keep filters matter only where an
 * export or the global filter names them.
 */
import { expressionOf, FILTERED_EXPORTS, type FilterSettings } from "./config.ts";
import { parseFilter, type Predicate } from "./expr.ts";

export interface NamedPredicate {
  name: string;
  test: Predicate;
}

export interface FilterPlan {
  drop: readonly NamedPredicate[];
  log: readonly NamedPredicate[];
  alert: ReadonlyMap<string, Predicate>;
  /** the distinct predicates of the exports and the global filter */
  tests: readonly Predicate[];
  /** index in tests of the global filter, -1 for none */
  global: number;
  /** index in tests of each export's own filter, by export name; an export not here takes the global's */
  exports: ReadonlyMap<string, number>;
}

export const NO_FILTERS: FilterPlan = { drop: [], log: [], alert: new Map(), tests: [], global: -1, exports: new Map() };

/** Every expression compiled; a config that loaded has been checked, so a mistake here throws FilterError. */
export function buildFilterPlan(s: FilterSettings): FilterPlan {
  const tests: Predicate[] = [];
  // one predicate per distinct expression: json and syslog naming the same filter cost one test
  const index = new Map<string, number>();
  const slot = (expr: string): number => {
    const key = expr.trim();
    if (key === "") return -1;
    let k = index.get(key);
    if (k === undefined) {
      k = tests.push(parseFilter(key)) - 1;
      index.set(key, k);
    }
    return k;
  };
  const global = slot(expressionOf(s, s.filter));
  const exports = new Map<string, number>();
  for (const name of FILTERED_EXPORTS) {
    const own = s.export[name].filter;
    if (own.trim() !== "") exports.set(name, slot(expressionOf(s, own)));
  }
  const drop: NamedPredicate[] = [];
  const log: NamedPredicate[] = [];
  const alert = new Map<string, Predicate>();
  for (const [name, f] of Object.entries(s.filters)) {
    if (f.action === "keep") continue;
    const test = parseFilter(f.expr);
    if (f.action === "drop") drop.push({ name, test });
    else if (f.action === "log") log.push({ name, test });
    else alert.set(name, test);
  }
  return { drop, log, alert, tests, global, exports };
}

/** The plan with its global filter replaced (`undefined`: none); exports with their own keep theirs. */
export function withGlobal(p: FilterPlan, f: Predicate | undefined): FilterPlan {
  const shared = p.global >= 0 && [...p.exports.values()].includes(p.global);
  if (p.global >= 0 && !shared) {
    // the old global filter was its own slot: reuse it rather than evaluate a stale one per event
    const tests = [...p.tests];
    tests[p.global] = f ?? (() => true);
    return { ...p, tests, global: f ? p.global : -1 };
  }
  if (!f) return { ...p, global: -1 };
  return { ...p, tests: [...p.tests, f], global: p.tests.length };
}

/** whether the plan changes where any event goes (alert filters only watch) */
export function routesEvents(p: FilterPlan): boolean {
  return p.drop.length > 0 || p.log.length > 0 || p.global >= 0 || p.exports.size > 0;
}
