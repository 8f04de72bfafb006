/**
 * Turning cache differences into events. A difference found by a re-dump is something the kernel
 * did without telling us (or told us while we could not listen), so it is reported as an event
 * like any other, marked with why it was found.
 */
import { type CacheChange, cachedEvent } from "../cache/change.ts";
import type { NlEvent } from "../event/model.ts";
import { objectKind } from "../families/index.ts";

export function changeEvent(c: CacheChange, mark: "resync" | "implicit"): NlEvent {
  const body = (c.op === "del" ? c.before : c.after)!;
  const k = objectKind(c.kind)!;
  // every cached kind is one the kernel deletes by message
  const ev = cachedEvent(c.kind, body, c.op === "del" ? k.del! : k.add, 0, c.body);
  if (mark === "resync") ev.resync = true;
  else ev.implicit = true;
  return ev;
}
