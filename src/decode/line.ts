/**
 * Whole event lines as bytes for the messages a family's BodyWriter covers: the envelope
 * decodeMessage builds, then the body. Deterministic (no timestamp, seq or pid) where a dump's
 * bulk is printed (--dump-events); live, with the receive time and the message's seq and pid, where
 * the pipeline exports notifications as lines (pipeline/line-path.ts). Everything declined goes to
 * decodeMessage.
 */
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import type { EventType } from "../event/model.ts";
import { Fragments, type JsonBytes, put, putUint } from "../event/json-bytes.ts";
import { NLMSG_MIN_TYPE } from "../uapi/linux.gen.ts";
import type { DecodeContext } from "./context.ts";
import type { BodyWriter } from "./family.ts";
import { FAMILIES, protocolName } from "./message.ts";

export class LineWriter {
  private readonly body: BodyWriter | undefined;
  private readonly f = new Fragments();
  private readonly envelopes = new Map<number, Uint8Array>();
  private readonly close: Uint8Array;

  constructor(private readonly protocol: number, ctx: DecodeContext) {
    const fam = FAMILIES.get(protocol);
    // a family that adds fields beside its body (generic netlink) is written by the decoder
    this.body = fam && !fam.netlinkFields ? fam.bodyWriter?.(ctx) : undefined;
    this.close = this.f.get("}}");
    this.pidKey = this.f.get(`,"pid":`);
  }

  private readonly pidKey: Uint8Array;
  private readonly keys = new Map<EventType, Uint8Array>();

  /** the event type the writer would make of a message type, or undefined where it covers none */
  typeOf(msgType: number): EventType | undefined {
    return this.body && msgType >= NLMSG_MIN_TYPE ? this.body.typeOf(msgType) : undefined;
  }

  private lastKey = -1;
  private last: Uint8Array | undefined;

  private envelope(type: EventType, msgType: number, flags: number, live: boolean): Uint8Array {
    const k = (msgType * 0x10000 + flags) * 2 + (live ? 1 : 0);
    if (k === this.lastKey) return this.last!;
    this.lastKey = k;
    let b = this.envelopes.get(k);
    if (!b) {
      const p = this.protocol;
      const name = FAMILIES.get(p)?.msgTypeName(msgType) ?? String(msgType);
      const j = JSON.stringify;
      // live, the receive time comes before (the caller's) and seq and pid after it
      b = this.f.get(`${live ? "" : "{"}"type":${j(type)},"protocol":${p},"msg_type":${msgType},"netlink":{"protocol":${p},` +
        `"protocol_name":${j(protocolName(p))},"msg_type":${msgType},"msg_type_name":${j(name)},"msg_flags":${flags},` +
        (live ? `"seq":` : `${j(type)}:`));
      this.envelopes.set(k, b);
    }
    return (this.last = b);
  }

  /** the functions a line goes through, for a one-shot run to keep out of the top JIT tier */
  hot(): ((...a: never[]) => unknown)[] {
    return this.body ? [this.write, this.body.write] : [this.write];
  }

  /**
   * The message's line (no newline) into out (its lead, then from out.pos), or undefined: decode it
   * instead. `live`: with seq and pid, after the `{"timestamp":"…",` the caller has written.
   */
  write(hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number, out: JsonBytes, live = false): EventType | undefined {
    if (!this.body || hdr.type < NLMSG_MIN_TYPE) return undefined;
    const type = this.body.typeOf(hdr.type);
    if (type === undefined) return undefined;
    out.leadWith(this.envelope(type, hdr.type, hdr.flags, live));
    if (live) {
      out.room(48);
      let p = putUint(out.buf, out.pos, hdr.seq);
      p = put(out.buf, p, this.pidKey);
      p = putUint(out.buf, p, hdr.pid);
      out.buf[p++] = 44; // ,
      out.pos = put(out.buf, p, this.keyOf(type));
    }
    if (!this.body.write(hdr, u, dv, off, end, out)) return undefined;
    if (out.trail) out.trailWith(this.close);
    else {
      out.room(2);
      out.pos = put(out.buf, out.pos, this.close);
    }
    return type;
  }

  private keyOf(type: EventType): Uint8Array {
    let k = this.keys.get(type);
    if (!k) this.keys.set(type, (k = this.f.get(`${JSON.stringify(type)}:`)));
    return k;
  }
}
