// Every example in docs/NETLINK_FILTERING.md is a test: each fenced block is read by its language.
//   json           an example event, named by the **`name`** markers of the line before
//   filter         one expression a line, which must parse; "# matches: a, b; not: c" after it
//                  names events it must pass and events it must not
//   filter-errors  an expression, then "→ " and the exact message it must be refused with
//   yaml           a config that must load; one starting "# f.yaml: an error" must be refused
//                  with the message of the output block after it
// A block of any other language fails the test, so no example can be added that is not checked.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import type { NlEvent } from "../../src/event/model.ts";
import { FilterError, parseFilter } from "../../src/filter/expr.ts";
import { lookupField } from "../../src/filter/fields.ts";

const DOC = join(import.meta.dir, "../../docs/NETLINK_FILTERING.md");

interface Block { lang: string; lines: string[]; line: number; before: string }

function blocks(text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  let before = "";
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!m) {
      if (lines[i]!.trim() !== "") before = lines[i]!;
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${DOC}:${start + 1}: block not closed`);
    out.push({ lang: m[1]!, lines: body, line: start + 1, before });
  }
  return out;
}

const all = blocks(readFileSync(DOC, "utf8"));

/** the example events by name */
const events = new Map<string, NlEvent>();
{
  let names: string[] = [];
  let from = "";
  for (const b of all.filter((x) => x.lang === "json")) {
    if (b.before !== from) {
      from = b.before;
      names = [...b.before.matchAll(/\*\*`([a-z0-9-]+)`\*\*/g)].map((m) => m[1]!);
    }
    const name = names.shift();
    if (!name) throw new Error(`line ${b.line}: an example event needs a **\`name\`** on the line before it`);
    events.set(name, JSON.parse(b.lines.join("\n")) as NlEvent);
  }
}

/** every leaf path of a value, with "[]" dropped (a list's elements are reached through it) */
function paths(v: unknown, at: string[] = []): string[][] {
  if (Array.isArray(v)) return v.flatMap((e) => paths(e, at));
  if (v !== null && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]));
  return [at];
}

describe("docs/NETLINK_FILTERING.md", () => {
  test("has examples of every kind, and no block the test cannot check", () => {
    const kinds = new Set(all.map((b) => b.lang));
    expect([...kinds].sort()).toEqual(["", "filter", "filter-errors", "json", "yaml"]);
    expect(events.size).toBeGreaterThanOrEqual(9);
  });

  test("the example events hold only fields the filter knows, as nlmon writes them", () => {
    for (const [name, ev] of events) {
      for (const p of paths(ev)) {
        expect({ name, path: p.join("."), known: lookupField(p).ok }).toEqual({ name, path: p.join("."), known: true });
      }
    }
  });

  for (const b of all.filter((x) => x.lang === "filter")) {
    for (const [k, raw] of b.lines.entries()) {
      if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
      const hash = raw.search(/\s#\s/);
      const expr = (hash < 0 ? raw : raw.slice(0, hash)).trim();
      const note = hash < 0 ? "" : raw.slice(hash).replace(/^\s#\s/, "");
      test(`line ${b.line + 1 + k}: ${expr}`, () => {
        const f = parseFilter(expr);
        for (const part of note.split(";").map((s) => s.trim())) {
          const m = /^(matches|not):\s*(.*)$/.exec(part);
          if (!m) continue;
          for (const name of m[2]!.split(",").map((s) => s.trim())) {
            const ev = events.get(name);
            if (!ev) throw new Error(`no example event '${name}'`);
            expect({ event: name, passes: f(structuredClone(ev)) }).toEqual({ event: name, passes: m[1] === "matches" });
          }
        }
      });
    }
  }

  for (const b of all.filter((x) => x.lang === "filter-errors")) {
    for (let k = 0; k < b.lines.length; k += 2) {
      const expr = b.lines[k]!;
      const want = b.lines[k + 1];
      test(`line ${b.line + 1 + k}: ${expr} is refused`, () => {
        expect(want).toStartWith("→ ");
        let got = "";
        try {
          parseFilter(expr);
        } catch (e) {
          expect(e).toBeInstanceOf(FilterError);
          got = (e as Error).message;
        }
        expect(got).toBe(want!.slice(2));
      });
    }
  }

  for (const [i, b] of all.entries()) {
    if (b.lang !== "yaml") continue;
    const text = b.lines.join("\n") + "\n";
    if (b.lines[0]?.startsWith("# f.yaml: an error")) {
      test(`line ${b.line}: the config is refused as the output after it shows`, () => {
        const out = all[i + 1];
        expect(out?.lang).toBe("");
        const shown = out!.lines.filter((l) => !l.startsWith("$ ") && l !== "nlmon: config error:").join("\n");
        let got = "";
        try {
          loadConfig({ path: "f.yaml", text, env: {} });
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          got = (e as Error).message;
        }
        expect(got).toBe(shown);
      });
    } else {
      test(`line ${b.line}: the config loads`, () => {
        const cfg = loadConfig({ path: "example.yaml", text, env: {} });
        expect(cfg).toBeDefined();
      });
    }
  }
});
