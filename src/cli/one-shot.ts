/**
 * Keeping a one-shot run's hot functions out of JSC's top tier. FTL compiles on a background
 * thread; in a run of a few hundred milliseconds on two cores it competes with the run and is done
 * too late to pay back. --dump-events of 100k routes, same namespace, alternating: 0.43-0.66 s and
 * 87-91 MiB with FTL, 0.31-0.34 s and 85-89 MiB with these functions kept to the DFG tier. Only a
 * one-shot mode marks them: a running monitor's decoders are hot for hours and FTL pays there.
 */
import { noFTL } from "bun:jsc";

// biome-ignore lint: any function
export function oneShot(...fns: ((...a: never[]) => unknown)[]): void {
  for (const f of fns) noFTL(f);
}
