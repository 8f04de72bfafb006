/**
 * What a protocol family supplies, so that the generic layers (message, dump, monitor, caches)
 * can serve any family from one registry (src/families/index.ts) without naming it.
 */
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import type { EventType, NetlinkInfo } from "../event/model.ts";
import type { DecodeContext } from "./context.ts";
import type { JsonBytes } from "../event/json-bytes.ts";

/**
 * Writes a message's body as JSON bytes straight from the message, skipping the object: the bytes
 * JSON.stringify gives the body decode() makes (test/unit/fast-line.test.ts holds every family's
 * writer to that). It declines (false) whatever it does not cover, and the decoder takes over.
 */
export interface BodyWriter {
  /** the event type this writer makes of a message type, or undefined when it covers none */
  typeOf(msgType: number): EventType | undefined;
  write(hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number, out: JsonBytes): boolean;
}

/** The part the decoder needs; the fuzzer and tests plant bare decoders of this shape. */
export interface FamilyDecoder {
  protocol: number;
  msgTypeName(type: number): string | undefined;
  /**
   * Decode one message body. undefined: this family has no decoder for the type;
   * body undefined: the type is known but its body was malformed (the context holds why).
   * `subject`: what the dump request asked for, when its replies do not say it themselves
   * (sock_diag's replies do not name their protocol).
   */
  decode(hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext, subject?: string): { type: EventType; body: object | undefined } | undefined;
  /** Fields a decoded body adds to the netlink block beside itself (generic netlink's, as the guide shows them). */
  netlinkFields?(netlink: NetlinkInfo, hdr: NlMsgHeader, body: object): void;
  /** a fast path for the bulk of a dump (a full routing table), made per decode context */
  bodyWriter?(ctx: DecodeContext): BodyWriter;
}

/** An object kind's message types: the kernel announces it with `add` and removes it with `del`. */
export interface ObjectTypes {
  type: EventType;
  add: number;
  del?: number;
}

export interface DumpRequest {
  type: EventType;
  request: Uint8Array;
}

export interface Family extends FamilyDecoder {
  /** the key under netlink.protocols in the config */
  name: string;
  /** NEW/DEL pairing per object kind; a kind without `del` is never removed by message */
  objects: ObjectTypes[];
  /** multicast groups by the names the config uses; empty when they are only known at run time (generic netlink) */
  groups: Record<string, number>;
  /** the requests a snapshot of this family's state is taken with, in the order to send them */
  dumpRequests(): DumpRequest[];
  /** event types in the order --dump-events prints them */
  dumpOrder: EventType[];
}
