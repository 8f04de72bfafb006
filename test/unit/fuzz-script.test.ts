// scripts/fuzz in CI: a seeded 100,000-input subset per registered family through the decoders and
// the replay path must not crash, must reach the error paths it is there to exercise, and must be
// reproducible; a family added to the registry is fuzzed without naming it, and a decoder that
// throws is caught and reported with what is needed to run its input again.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FAMILIES } from "../../src/decode/message.ts";
import type { FamilyDecoder } from "../../src/decode/family.ts";
import { NAMES } from "../../src/uapi/linux.gen.ts";
import { fuzzFamily, runOne, type Crash, type FamilyReport } from "../fuzz/engine.ts";
import { fuzzFamilies } from "../fuzz/seeds.ts";

const SCRIPT = join(import.meta.dir, "../../scripts/fuzz");

interface Run { seed: number; count: number; crashes: number; families: (FamilyReport & { seconds: number })[] }

function fuzz(...args: string[]): { code: number; run: Run; stdout: string } {
  const r = Bun.spawnSync([SCRIPT, "--json", ...args], { stdout: "pipe", stderr: "pipe" });
  const stdout = r.stdout.toString();
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (!last.startsWith("{")) throw new Error(`scripts/fuzz ${args.join(" ")} -> exit ${r.exitCode}: ${stdout.slice(-2000)} ${r.stderr.toString()}`);
  return { code: r.exitCode ?? -1, run: JSON.parse(last) as Run, stdout };
}

describe("scripts/fuzz", () => {
  test("100,000 seeded inputs per family: no crash, and every kind of damage reached", () => {
    const { code, run, stdout } = fuzz("--seed", "1", "--count", "100000");
    // a crash report comes before the summary: show it if there is one
    expect(run.crashes, stdout.slice(0, 4000)).toBe(0);
    expect(code).toBe(0);
    expect(run.families.map((f) => f.family)).toEqual(fuzzFamilies().map((f) => f.name));
    for (const f of run.families) {
      expect([f.family, f.inputs]).toEqual([f.family, 100_000]);
      for (const k of ["messages", "events", "decode_errors", "unknown_attrs", "records", "malformed_records", "capture_errors", "replay_decode_errors"] as const) {
        expect([f.family, k, f[k] > 0]).toEqual([f.family, k, true]);
      }
      for (const [k, n] of Object.entries(f.mutations)) expect([f.family, k, n > 1000]).toEqual([f.family, k, true]);
      // a capture per 32 inputs; most whole, some broken on purpose
      expect(f.captures).toBe(Math.ceil(100_000 / 32));
      expect(f.capture_errors).toBeLessThan(f.captures / 4);
    }
  }, 180_000);

  test("the same seed gives the same figures; another seed other inputs", () => {
    const strip = (r: Run) => r.families.map(({ max_input_ms: _, max_input_index: _i, seconds: _s, ...rest }) => rest);
    const a = fuzz("--seed", "7", "--count", "500").run;
    expect(strip(fuzz("--seed", "7", "--count", "500").run)).toEqual(strip(a));
    expect(strip(fuzz("--seed", "8", "--count", "500").run)).not.toEqual(strip(a));
  }, 60_000);

  test("usage mistakes exit 2 and name the registered families", () => {
    const r = Bun.spawnSync([SCRIPT, "--family", "nosuch"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain(`registered: ${fuzzFamilies().map((f) => f.name).join(", ")}`);
  });
});

describe("a family added to the registry", () => {
  // one past the highest protocol the headers name: no real family can have it
  const protocol = Math.max(...Object.keys(NAMES.netlink_protocol).map(Number)) + 1;
  afterEach(() => { FAMILIES.delete(protocol); });

  test("is fuzzed without a line of the fuzzer naming it, and its crashes are caught and reproducible", () => {
    const planted: FamilyDecoder = {
      protocol,
      msgTypeName: (t) => (t === 0x20 || t === 0x21 ? `PLANTED_${t}` : undefined),
      decode(_hdr, dv, off, end) {
        // a decoder bug: reads past its message when the body starts with 0x42
        if (end > off && dv.getUint8(off) === 0x42) dv.getUint32(end + 64);
        return { type: "unknown", body: {} };
      },
    };
    FAMILIES.set(protocol, planted);
    const fam = fuzzFamilies().find((f) => f.protocol === protocol)!;
    expect(fam).toBeDefined();
    expect(fam.seeds.types).toEqual([0x20, 0x21]);
    const crashes: Crash[] = [];
    const rep = fuzzFamily(fam, { seed: 3, count: 3000, onCrash: (c) => crashes.push(c) });
    expect(rep.inputs).toBe(3000);
    expect(rep.crashes).toBeGreaterThan(0);
    expect(crashes.length).toBe(rep.crashes);
    const c = crashes.find((x) => x.path === "decode")!;
    expect(c.seed).toBe(3);
    expect(c.error).toContain("RangeError");
    // the reported bytes crash again on their own, and so does the input rebuilt from its index
    expect(runOne(fam, Uint8Array.from(Buffer.from(c.hex, "hex"))).decode).toContain("RangeError");
    const again: Crash[] = [];
    fuzzFamily(fam, { seed: 3, count: 1, from: c.index, onCrash: (x) => again.push(x) });
    expect(again.find((x) => x.path === "decode")?.hex).toBe(c.hex);
    expect(crashes.some((x) => x.path === "replay")).toBe(true);
  });
});
