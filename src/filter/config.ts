/**
 * The filter settings of a config: the global `filter`, named filters with their actions, and
 * each export's own filter, which is an expression or the name of a named filter. Shared by the
 * config loader (which reports every mistake with its place in the file) and the pipeline (which
 * builds the predicates), so both read a setting the same way.
 *
 * The shapes are declared here rather than imported from config/: config/ imports filter/.
 */
import { checkField, Problem } from "./check.ts";
import { FilterError, parseFilter } from "./expr.ts";
import { closest } from "./near.ts";

export type FilterAction = "keep" | "drop" | "log" | "alert";

export interface FilterSettings {
  filter: string;
  filters: Record<string, { expr: string; action: FilterAction; description?: string }>;
  export: { json: { filter: string }; syslog: { filter: string }; pcap: { filter: string } };
}

/** the exports with a `filter` of their own, by the name their Exporter carries */
export const FILTERED_EXPORTS = ["json", "syslog", "pcap"] as const;
export type FilteredExport = (typeof FILTERED_EXPORTS)[number];

/** a named filter's name as the schema allows it: one word, so never an expression */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/**
 * The expression a `filter` setting stands for: a named filter's when it names one, else its own
 * text. "" stays "" (for an export: the global filter applies).
 */
export function expressionOf(s: Pick<FilterSettings, "filters">, value: string): string {
  const v = value.trim();
  const named = Object.hasOwn(s.filters, v) ? s.filters[v] : undefined;
  return named ? named.expr : value;
}

/** What a config's filter settings mean, resolved: the expression in effect for each export. */
export function exportExpressions(s: FilterSettings): Record<FilteredExport, string> {
  const out = {} as Record<FilteredExport, string>;
  for (const name of FILTERED_EXPORTS) {
    const own = s.export[name].filter;
    out[name] = own.trim() === "" ? expressionOf(s, s.filter) : expressionOf(s, own);
  }
  return out;
}

/** the settings load.ts checks besides FilterSettings: conditions and grouping in the filter language */
export interface CheckedSettings extends FilterSettings {
  hooks: { when: string }[];
  alerts: { when: string; group_by: string }[];
}

/**
 * One mistake: the setting's path, its value, the offset in the value of what is wrong when that
 * is known, and the message without the setting's name (the caller puts the name and the place).
 */
export interface SettingProblem {
  at: (string | number)[];
  value: string;
  column?: number;
  detail: string;
}

/** Every filter-language setting of a config, each parsed as it will be used. */
export function checkFilterSettings(s: CheckedSettings): SettingProblem[] {
  const out: SettingProblem[] = [];
  const expr = (at: (string | number)[], value: string): void => {
    try {
      parseFilter(value);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      out.push({ at, value, column: e.column, detail: e.detail });
    }
  };
  // the global filter and an export's may name a named filter instead of spelling it out
  const nameOrExpr = (at: (string | number)[], value: string): void => {
    if (value.trim() === "" || Object.hasOwn(s.filters, value.trim())) return;
    try {
      parseFilter(value);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      if (!NAME.test(value.trim())) {
        out.push({ at, value, column: e.column, detail: e.detail });
        return;
      }
      const names = Object.keys(s.filters);
      const near = closest(value.trim(), names);
      const known = names.length === 0 ? "filters: defines none" : near ? `did you mean '${near}'?` : `filters: defines ${names.join(", ")}`;
      // one word is never an expression (a test has an operator), so the parser's complaint about
      // it would only distract from the name that was probably meant
      out.push({ at, value, detail: `'${value.trim()}' is neither a named filter (${known}) nor an expression (a test needs an operator: FIELD == VALUE)` });
    }
  };
  nameOrExpr(["filter"], s.filter);
  for (const [name, f] of Object.entries(s.filters)) expr(["filters", name, "expr"], f.expr);
  for (const x of FILTERED_EXPORTS) nameOrExpr(["export", x, "filter"], s.export[x].filter);
  s.hooks.forEach((h, i) => expr(["hooks", i, "when"], h.when));
  s.alerts.forEach((a, i) => {
    expr(["alerts", i, "when"], a.when);
    if (a.group_by !== "") {
      const p = fieldProblem(a.group_by);
      if (p) out.push({ at: ["alerts", i, "group_by"], value: a.group_by, column: p.column, detail: p.detail });
    }
  });
  return out;
}

/** Whether `path` names a field holding a value (as alerts' group_by must), or what is wrong with it. */
export function fieldProblem(path: string): { column: number; detail: string } | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(path)) return { column: 0, detail: `'${path}' is not a field path (names joined by '.')` };
  try {
    checkField(path);
    return undefined;
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    return { column: e.at, detail: `${e.what}${e.hint}` };
  }
}
