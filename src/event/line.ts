/**
 * An event's JSON line, made once. The pipeline serialises each event once (timestamp first, as
 * readers of a log expect: every event is built with `timestamp` as its first key), and whatever
 * else needs the event as JSON uses that line: the exports, and the caches, whose bodies are a
 * slice of it. An event made from a cached body (a cache's difference, --dump-cache) carries the
 * body's JSON text, and its line is composed around that text rather than serialising it again.
 *
 * An event must not change once its line has been made (the line is kept by the event's identity).
 */
import type { NlEvent } from "./model.ts";

/** On an event made from a cached body: that body's JSON text (JSON.stringify skips symbol keys). */
export const BODY_JSON: unique symbol = Symbol("nlmon.bodyJson");

export type WithBodyJson = NlEvent & { [BODY_JSON]?: string };

/** the last event serialised and its line: the pipeline asks for each event's line more than once */
let lastEvent: NlEvent | undefined;
let lastLine = "";

/** The event's line (compact JSON, no newline); the same text JSON.stringify gives. */
export function serialise(ev: NlEvent): string {
  if (ev === lastEvent) return lastLine;
  const body = (ev as WithBodyJson)[BODY_JSON];
  const line = body === undefined ? JSON.stringify(ev) : compose(ev, body);
  lastEvent = ev;
  lastLine = line;
  return line;
}

/** What JSON.stringify writes for one member, or undefined where it leaves the member out. */
function member(k: string, v: unknown): string | undefined {
  if (v === undefined || typeof v === "function" || typeof v === "symbol") return undefined;
  return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
}

/** JSON.stringify(ev), with the body (netlink[ev.type]) written as the text it already has. */
function compose(ev: NlEvent, bodyJson: string): string {
  const top: string[] = [];
  const e = ev as unknown as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    if (k !== "netlink") {
      const m = member(k, e[k]);
      if (m !== undefined) top.push(m);
      continue;
    }
    const n = ev.netlink as unknown as Record<string, unknown>;
    const inner: string[] = [];
    for (const nk of Object.keys(n)) {
      // the body is not read: an event made from a cached body may decode it only when asked
      if (nk === ev.type) inner.push(`${JSON.stringify(nk)}:${bodyJson}`);
      else {
        const m = member(nk, n[nk]);
        if (m !== undefined) inner.push(m);
      }
    }
    top.push(`"netlink":{${inner.join(",")}}`);
  }
  return `{${top.join(",")}}`;
}

/** The object body only: how it reached us (flags, seq, time) is not part of its state. */
export function bodyOf(ev: NlEvent): object {
  return (ev.netlink as unknown as Record<string, object>)[ev.type]!;
}

/**
 * The JSON text of the event's body (netlink[ev.type]), taken from the event's line. A decoded
 * event's body is the last member of `netlink`, and `netlink` its last member unless it has one of
 * the flags or the decode error that follow it; then the body is the line's text between its key
 * and the line's closing "}}".
 */
export function bodyJson(ev: NlEvent): string {
  const carried = (ev as WithBodyJson)[BODY_JSON];
  if (carried !== undefined) return carried;
  if (ev.decode_error !== undefined || ev.resync || ev.implicit || ev.snapshot) return JSON.stringify(bodyOf(ev));
  const line = serialise(ev);
  // nothing before the body can hold `"netlink":{` or the body's key followed by a colon: the
  // members before it are numbers and names (a type name is followed by a comma, never a colon)
  const key = `"${ev.type}":`;
  const at = line.indexOf(key, line.indexOf(`"netlink":{`));
  return line.slice(at + key.length, line.length - 2);
}
