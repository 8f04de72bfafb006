/**
 * The migration guide's YAML examples are kept in test/fixtures/guide/ exactly as
 * scripts/extract-guide-examples writes them from the guide, and each one is a configuration
 * nlmon loads. test/live/guide-examples.test.ts runs them.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { configNotes } from "../../src/config/lift.ts";
import { extractExamples, findGuide, FIXTURE_DIR } from "../../scripts/guide-examples.ts";

const guidePath = findGuide();

describe("the guide's examples as fixtures", () => {
  test("the guide is where the extraction script looks", () => {
    expect(guidePath).toBeDefined();
  });

  const guide = guidePath ? readFileSync(guidePath, "utf8") : "";
  const examples = extractExamples(guide);

  test("the fixtures are exactly what the script extracts (run scripts/extract-guide-examples after a guide change)", () => {
    const onDisk = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".yaml")).sort();
    expect(onDisk).toEqual(examples.map((e) => e.file).sort());
    for (const e of examples) expect(readFileSync(join(FIXTURE_DIR, e.file), "utf8")).toBe(e.text);
  });

  test("every yaml fence of the guide is there, comments included, each line as the guide has it", () => {
    const fences = guide.split("\n").filter((l) => /^\s*```yaml\s*$/.test(l)).length;
    // one fence holds two alternatives of the same key ("# Old filter", "# New filter"): two examples
    expect(examples.length).toBe(fences + 1);
    const guideLines = new Set(guide.split("\n").map((l) => l.trim()));
    for (const e of examples) for (const l of e.text.split("\n")) expect(guideLines.has(l.trim())).toBe(true);
    expect(examples.some((e) => e.text.includes("# Multicast groups (informational)"))).toBe(true);
  });

  for (const e of examples) {
    test(`${e.file} (guide line ${e.line}, "${e.heading}") loads`, () => {
      const cfg = loadConfig({ path: join(FIXTURE_DIR, e.file), env: {} });
      // a piece of the netlink section written on its own is read as that section, and said so
      for (const n of configNotes(cfg)) expect(n.text).toMatch(/^\S+:\d+:\d+: \w+ at the top level is read as netlink\.\w+$/);
    });
  }
});
