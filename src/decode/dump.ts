/**
 * Decoding the replies of a dump into events, and the stable order --dump-events prints them in.
 */
import { type NlMsgHeader, walkMessages } from "../codec/nlmsg.ts";
import { describeError } from "../codec/errors.ts";
import type { EventType, NlEvent } from "../event/model.ts";
import { DUMP_ORDER } from "../families/index.ts";
import type { BasicContext } from "./context.ts";
import { decodeMessage, FAMILIES } from "./message.ts";

export const TYPE_ORDER: readonly EventType[] = DUMP_ORDER;

export interface Snapshot {
  events: NlEvent[];
  /** bodies of the message types asked to be kept undecoded, by type: views into the datagrams */
  undecoded: Map<number, Uint8Array[]>;
  /** dumps the kernel refused (e.g. nexthop objects on a kernel without them) */
  refused: string[];
  decodeErrors: number;
}

export interface DecodeDumpOptions {
  /** message types whose bodies are collected as bytes, not decoded (a route cache decodes only the routes that differ) */
  keep?: number[];
  /** takes each event instead of `events`, so a caller that only needs it briefly need not hold them all */
  sink?: (ev: NlEvent) => void;
  /** offered each message before it is decoded (a fast line writer); true: taken, not decoded */
  take?: (hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number) => boolean;
  /** what the request asked for, where its replies do not say it (DecodeOptions.subject) */
  subject?: string;
  /** keep seq and pid: the events go out live (derived from the dump), not into --dump-events */
  live?: boolean;
}

/** Decode dump replies in request order (a family asks first for what later objects refer to). */
export function decodeDump(datagrams: Uint8Array[], ctx: BasicContext, protocol: number, o: DecodeDumpOptions = {}): Snapshot {
  const fam = FAMILIES.get(protocol);
  const events: NlEvent[] = [];
  const sink = o.sink ?? ((ev: NlEvent) => events.push(ev));
  const refused: string[] = [];
  const undecoded = new Map<number, Uint8Array[]>((o.keep ?? []).map((t) => [t, []]));
  const scratch: NlMsgHeader = { len: 0, type: 0, flags: 0, seq: 0, pid: 0 };
  const opts = { deterministic: !o.live, subject: o.subject };
  const before = Object.values(ctx.counts).reduce((a, b) => a + b, 0) - ctx.counts.unknown_attr;
  for (const d of datagrams) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const u = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    const take = o.take;
    walkMessages(dv, 0, d.length, {
      message: (scratchHdr, dv2, off, end) => {
        if (take && take(scratchHdr, u, dv, off, end)) return;
        const hdr = take ? { ...scratchHdr } : scratchHdr;
        const raw = undecoded.get(hdr.type);
        if (raw) {
          raw.push(d.subarray(off, end));
          return;
        }
        const ev = decodeMessage(protocol, hdr, dv2, off, end, ctx, opts);
        if (!ev) return;
        if (ev.type === "error") {
          const e = ev.netlink.error;
          if (e && e.error !== 0) refused.push(`${fam?.msgTypeName(e.orig_msg_type ?? 0) ?? e.orig_msg_type}: ${describeError(e)}`);
          return;
        }
        sink(ev);
      },
      framingError: (kind, off) => ctx.error(kind === "bad_length" ? "bad_length" : "truncated", `dump datagram: ${kind} at byte ${off}`),
    }, take ? scratch : undefined);
  }
  const after = Object.values(ctx.counts).reduce((a, b) => a + b, 0) - ctx.counts.unknown_attr;
  return { events, undecoded, refused, decodeErrors: after - before };
}

/** Lines by event type (TYPE_ORDER), then by their text. */
export function sortKeyed(keyed: { t: number; line: string }[]): string[] {
  keyed.sort((a, b) => (a.t - b.t) || (a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  return keyed.map((k) => k.line);
}
