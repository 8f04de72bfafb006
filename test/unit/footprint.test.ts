// The daemon's quiet-time hand-back (src/ffi/footprint.ts), on this process: the kernel must take the
// advice (6.18 knows MADV_PAGEOUT) and the file-backed pages must actually leave the RSS.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pageOutFileMappings, shrinkHeap } from "../../src/ffi/footprint.ts";

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
});
