/** A Log for tests that keeps what it is told at warn and error. */
import type { Log } from "../../src/log.ts";

export function recorder(): { lines: string[]; log: Log } {
  const lines: string[] = [];
  const log = {
    error: (m: string, s: string) => lines.push(`error: ${m}: ${s}`),
    warn: (m: string, s: string) => lines.push(`warn: ${m}: ${s}`),
    info: () => {}, debug: () => {}, trace: () => {},
    as: () => () => {},
  } as unknown as Log;
  return { lines, log };
}
