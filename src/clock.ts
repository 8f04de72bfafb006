/**
 * Wall-clock nanoseconds for event timestamps. One wall reading is paired with the monotonic clock
 * (shared by every thread of the process), so the receiving Worker and the main thread stamp on
 * the same scale and latencies are exact differences, at ns resolution, without a syscall each.
 */
export interface ClockBase {
  wall: bigint;
  mono: bigint;
}

let base: ClockBase = { wall: BigInt(Date.now()) * 1000000n, mono: process.hrtime.bigint() };

export function clockBase(): ClockBase {
  return base;
}
export function setClockBase(b: ClockBase): void {
  base = b;
}
export function nowNs(): bigint {
  return base.wall + (process.hrtime.bigint() - base.mono);
}
