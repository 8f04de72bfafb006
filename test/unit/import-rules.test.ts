// Which layer may import which (docs/ARCHITECTURE.md, "Layers and what may import what"), held by
// reading every import in src/: a rule that is only written down drifts as soon as one import is
// added for convenience.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

/** every relative import of a file (static, re-export, side effect, dynamic), as a path from the repository root */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => relative(ROOT, resolve(dirname(file), s)));
}

const EDGES = sources(join(ROOT, "src")).flatMap((f) => importsOf(f).map((to) => ({ from: relative(ROOT, f), to })));

function crossing(fromDirs: string[], toDir: string): string[] {
  return EDGES.filter((e) => fromDirs.some((d) => e.from.startsWith(`${d}/`)) && e.to.startsWith(`${toDir}/`)).map((e) => `${e.from} -> ${e.to}`);
}

describe("import rules", () => {
  test("the walk sees the imports", () => {
    expect(EDGES.length).toBeGreaterThan(300);
    expect(EDGES).toContainEqual({ from: "src/cli/main.ts", to: "src/bench/index.ts" });
  });

  test("backend/ does not import config/: selectBackend takes its own BackendChoice", () => {
    expect(crossing(["src/backend"], "src/config")).toEqual([]);
  });

  test("bench/ does not import cli/ (cli/ starts bench/, not the other way)", () => {
    expect(crossing(["src/bench"], "src/cli")).toEqual([]);
  });

  test("the generic layers reach the route family only through the registry", () => {
    const generic = ["src/codec", "src/decode", "src/pipeline", "src/monitor", "src/cache", "src/export"];
    expect(crossing(generic, "src/families/route")).toEqual([
      // the route cache keeps routes as the kernel's bytes (a full BGP table) and decodes a body
      // only when a difference or --dump-cache asks for it, so it calls the route decoder itself
      "src/cache/route-cache.ts -> src/families/route/route.ts",
    ]);
  });
});
