// The daemon's quiet-time hand-back (src/ffi/footprint.ts), on this process: the kernel must take the
// advice (6.18 knows MADV_PAGEOUT) and the file-backed pages must actually leave the RSS.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { numberOfDFGCompiles } from "bun:jsc";
import { currentJitScale, pageOutFileMappings, shrinkHeap, withReluctantJit } from "../../src/ffi/footprint.ts";

const rssFileKiB = () => Number(/RssFile:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);

describe("footprint", () => {
  test("MADV_PAGEOUT on the read-only file mappings drops their pages from the RSS", () => {
    const before = rssFileKiB();
    const r = pageOutFileMappings();
    const after = rssFileKiB();
    expect(r.advised).toBeGreaterThan(5);
    expect(r.refused).toBe(0);
    // the test runner touches its own code again at once; most of what it had must still have gone
    expect(after).toBeLessThan(before * 0.7);
  });

  test("shrinkHeap is safe to call, and code still runs afterwards", () => {
    shrinkHeap();
    expect([3, 1, 2].sort().join()).toBe("1,2,3");
  });

  test("withReluctantJit keeps run-once code out of the optimising JIT, and restores the normal policy after", async () => {
    // fresh code (a new Function has a code block of its own), which the normal policy compiles with
    // the DFG after 5,000-35,000 calls here and a scale of 1000 after 110,000-140,000
    const held = new Function("x", "return (x * 31 + 7) % 1009;") as (x: number) => number;
    const sum = await withReluctantJit(() => {
      expect(currentJitScale()).toBe(1000);
      let s = 0;
      for (let i = 0; i < 50_000; i++) s += held(i);
      return s;
    });
    expect(sum).toBeGreaterThan(0);
    expect(numberOfDFGCompiles(held)).toBe(0);
    expect(currentJitScale()).toBe(1);
  });

  test("withReluctantJit restores the normal policy when its function throws", async () => {
    await expect(withReluctantJit(() => { throw new Error("bad config"); })).rejects.toThrow("bad config");
    expect(currentJitScale()).toBe(1);
  });
});
