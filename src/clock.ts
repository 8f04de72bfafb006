/**
 * Wall-clock nanoseconds for event timestamps, at ns resolution without a syscall each.
 *
 * Bun's `process.hrtime` and `performance.now()` count from the start of the thread that reads
 * them (measured: a Worker started 0.5 s after the main thread reads 0.5 s less), so a monotonic
 * reading cannot be carried from one thread to another. Each thread therefore anchors its own
 * monotonic clock to the wall clock when this module loads in it, and re-anchors when the two drift
 * apart (a clock step, NTP slew): every thread stamps on the wall clock's scale, and a latency is
 * the difference of two wall-clock stamps taken on different threads.
 */

/** how far the anchored clock may drift from the wall clock before it is re-anchored */
const MAX_DRIFT_NS = 2_000_000n;
/** how often (in monotonic ns) the anchor is checked against the wall clock */
const CHECK_EVERY_NS = 1_000_000_000n;

let wall = 0n;
let mono = 0n;
let checkedAt = 0n;

/**
 * Date.now() has millisecond resolution; its value changes at the start of a millisecond, so the
 * monotonic reading taken right after it changes pairs the two clocks to within microseconds.
 */
function anchor(): void {
  const start = Date.now();
  let ms = start;
  let hr = process.hrtime.bigint();
  // at most one millisecond of spinning
  while (ms === start) {
    hr = process.hrtime.bigint();
    ms = Date.now();
  }
  wall = BigInt(ms) * 1_000_000n;
  mono = hr;
  checkedAt = hr;
}
anchor();

export function nowNs(): bigint {
  const hr = process.hrtime.bigint();
  if (hr - checkedAt > CHECK_EVERY_NS) {
    checkedAt = hr;
    // the wall clock's millisecond must contain the anchored reading (give it the drift allowance)
    const ms = BigInt(Date.now()) * 1_000_000n;
    const t = wall + (hr - mono);
    if (t < ms - MAX_DRIFT_NS || t > ms + 1_000_000n + MAX_DRIFT_NS) anchor();
  }
  return wall + (hr - mono);
}
