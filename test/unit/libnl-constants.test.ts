// The libnl callback constants must be what libnl's headers say (libnl-3-dev, installed by make test).
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

test("src/backend/libnl/constants.gen.ts regenerates byte for byte from libnl's headers", () => {
  const dir = mkdtempSync(join(tmpdir(), "libnl-gen-"));
  try {
    const out = join(dir, "constants.gen.ts");
    const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/gen-libnl.ts"), out], { cwd: ROOT, stderr: "pipe" });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    const fresh = readFileSync(out, "utf8");
    if (fresh !== readFileSync(join(ROOT, "src/backend/libnl/constants.gen.ts"), "utf8")) {
      throw new Error("src/backend/libnl/constants.gen.ts is stale; run: node_modules/.bin/bun scripts/gen-libnl.ts");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
