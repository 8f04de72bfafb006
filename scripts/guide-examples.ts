/**
 * The migration guide's YAML examples, written out as test fixtures exactly as the guide prints
 * them (comments included), so a test can load and run every one: the guide is what operators
 * copy from, and an example that fails there fails for them.
 *
 *   node_modules/.bin/bun scripts/guide-examples.ts [GUIDE] [OUT_DIR]   (or scripts/extract-guide-examples)
 *
 * Only ```yaml fences count (the guide's bash, C and makefile blocks are not configurations). A
 * fence inside a list item is indented; its lines lose the fence's indentation, nothing else.
 * Names are the nearest heading above the fence, as a slug, and the fence's number under it.
 *
 * One block shows two alternatives for one key under the comments "# Old filter" and "# New
 * filter": as one file it is not a configuration but a duplicate key. A block whose top level
 * repeats a key is therefore split before each repetition's leading comment, and each part is an
 * example of its own, with its own number. Nothing else is split or changed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
const GUIDE_NAME = "seeds/004_bc70074b198443ba.txt";
/** the shared directory beside the checkout, then the one CI machines have */
export const GUIDE_CANDIDATES = [resolve(ROOT, "..", "shared", GUIDE_NAME), join("/work/shared", GUIDE_NAME)];
export const FIXTURE_DIR = join(ROOT, "test/fixtures/guide");

export interface GuideExample {
  /** file name in the fixture directory */
  file: string;
  /** the heading it sits under, as written */
  heading: string;
  /** 1-based line of the guide where the example's first line is */
  line: number;
  text: string;
}

export function findGuide(): string | undefined {
  return GUIDE_CANDIDATES.find((p) => existsSync(p));
}

function slug(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** top-level key of a line, or undefined for comments, blanks, continuations and list items */
function topKey(line: string): string | undefined {
  return /^([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(line)?.[1];
}

/** Split where a top-level key comes again, at the comment lines and blanks that lead into it. */
function splitRepeatedKeys(lines: string[], firstLine: number): { lines: string[]; line: number }[] {
  const parts: { lines: string[]; line: number }[] = [];
  let seen = new Set<string>();
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const k = topKey(lines[i]!);
    if (k === undefined) continue;
    if (seen.has(k)) {
      let cut = i;
      while (cut > start && /^\s*(#.*)?$/.test(lines[cut - 1]!)) cut--;
      // the blank lines between the parts belong to neither
      let lead = cut;
      while (lead < i && lines[lead]!.trim() === "") lead++;
      parts.push({ lines: trimBlank(lines.slice(start, cut)), line: firstLine + start });
      start = lead;
      seen = new Set();
    }
    seen.add(k);
  }
  parts.push({ lines: trimBlank(lines.slice(start)), line: firstLine + start });
  return parts;
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a]!.trim() === "") a++;
  while (b > a && lines[b - 1]!.trim() === "") b--;
  return lines.slice(a, b);
}

export function extractExamples(guide: string): GuideExample[] {
  const lines = guide.split("\n");
  const out: GuideExample[] = [];
  const perHeading = new Map<string, number>();
  let heading = "guide";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(l);
    if (h) {
      heading = h[1]!.trim();
      continue;
    }
    const fence = /^(\s*)```(\S*)\s*$/.exec(l);
    if (!fence) continue;
    const indent = fence[1]!.length;
    const lang = fence[2]!;
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) j++;
    if (j >= lines.length) throw new Error(`guide line ${i + 1}: fence never closed`);
    const body = lines.slice(i + 1, j).map((b, k) => {
      if (b.trim() === "") return "";
      if (b.slice(0, indent).trim() !== "") throw new Error(`guide line ${i + 2 + k}: less indented than its fence`);
      return b.slice(indent).trimEnd();
    });
    if (lang === "yaml") {
      for (const part of splitRepeatedKeys(body, i + 2)) {
        const s = slug(heading);
        const n = (perHeading.get(s) ?? 0) + 1;
        perHeading.set(s, n);
        out.push({ file: `${s}-${n}.yaml`, heading, line: part.line, text: part.lines.join("\n") + "\n" });
      }
    }
    i = j;
  }
  return out;
}

/** Write the fixtures, removing ones the guide no longer has. */
export function writeExamples(examples: GuideExample[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  const keep = new Set(examples.map((e) => e.file));
  for (const f of readdirSync(dir)) if (f.endsWith(".yaml") && !keep.has(f)) rmSync(join(dir, f));
  for (const e of examples) writeFileSync(join(dir, e.file), e.text);
}

if (import.meta.main) {
  const guide = process.argv[2] ?? findGuide();
  if (!guide) {
    process.stderr.write(`extract-guide-examples: guide not found (looked for ${GUIDE_CANDIDATES.join(", ")})\n`);
    process.exit(2);
  }
  const dir = process.argv[3] ?? FIXTURE_DIR;
  const ex = extractExamples(readFileSync(guide, "utf8"));
  writeExamples(ex, dir);
  for (const e of ex) console.log(`${e.file}\tline ${e.line}\t${e.heading}`);
  console.log(`${ex.length} examples from ${guide} in ${dir}`);
}
