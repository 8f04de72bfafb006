/**
 * The libnl binding may only call what libnl-tiny exports: on OpenWrt nothing else exists, and a
 * missing symbol would only show up on a router. These checks run without loading any library.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LIBC_SYMBOLS, LIBNL_SYMBOLS } from "../../src/backend/libnl/symbols.ts";

const ROOT = join(import.meta.dir, "..", "..");
const EXPORTED_FILE = "/work/shared/reference/libnl-tiny-exported-symbols.txt";
const BINDING = join(ROOT, "src/backend/libnl/binding.ts");

/** prefixes of libnl's public API, for spotting libnl function names in source */
const LIBNL_NAME = /\b(?:nl|nla|nlmsg|genl|genlmsg|unl)_[a-z0-9_]+\b/g;

function exported(): Set<string> {
  return new Set(
    readFileSync(EXPORTED_FILE, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0),
  );
}

/** source without comments, so prose may mention functions we deliberately avoid */
function code(path: string): string {
  return readFileSync(path, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** the function name a koffi C-like prototype declares */
function protoName(proto: string): string | undefined {
  return /([A-Za-z_]\w*)\s*\(/.exec(proto)?.[1];
}

describe("libnl symbol list", () => {
  const names = LIBNL_SYMBOLS.map((s) => s.name);

  test("every listed libnl function is exported by libnl-tiny", () => {
    const ex = exported();
    expect(ex.size).toBeGreaterThan(50);
    expect(names.filter((n) => !ex.has(n))).toEqual([]);
  });

  test("names are unique and each prototype declares its own name", () => {
    expect(new Set(names).size).toBe(names.length);
    for (const s of [...LIBNL_SYMBOLS, ...LIBC_SYMBOLS]) expect(protoName(s.proto)).toBe(s.name);
  });

  test("accessors libnl-tiny lacks are not listed", () => {
    for (const absent of ["nl_socket_get_fd", "nl_recvmsgs_default", "nl_socket_modify_cb"])
      expect(names as string[]).not.toContain(absent);
  });

  test("libc list holds no libnl function", () => {
    for (const s of LIBC_SYMBOLS) expect(s.name).not.toMatch(LIBNL_NAME);
  });
});

describe("binding source", () => {
  const listed = new Set<string>(LIBNL_SYMBOLS.map((s) => s.name));
  const src = code(BINDING);

  test("binds only through the symbol tables, never an inline prototype", () => {
    // a string literal handed straight to koffi would bypass symbols.ts
    expect(src).not.toMatch(/\.func\(\s*["'`]/);
    const funcCalls = [...src.matchAll(/\.func\(([^)]*)\)/g)].map((m) => m[1]!.trim());
    expect(funcCalls.length).toBeGreaterThan(0);
    for (const arg of funcCalls) expect(arg).toMatch(/^s\.proto$/);
  });

  test("every libnl name the binding uses is in symbols.ts", () => {
    const used = new Set(src.match(LIBNL_NAME) ?? []);
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !listed.has(n))).toEqual([]);
  });

  test("no source file under src/ carries a libnl prototype string outside symbols.ts", () => {
    const proto = /["'`][^"'`\n]*?\b((?:nl|nla|nlmsg|genl|genlmsg|unl)_\w+)\s*\([^"'`\n]*\)\s*["'`]/g;
    const offenders: string[] = [];
    for (const f of tsFiles(join(ROOT, "src"))) {
      if (f.endsWith("/libnl/symbols.ts")) continue;
      for (const m of code(f).matchAll(proto)) if (!listed.has(m[1]!)) offenders.push(`${f}: ${m[1]}`);
    }
    expect(offenders).toEqual([]);
  });
});
