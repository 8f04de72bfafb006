/**
 * Whole event lines as bytes for the messages a family's BodyWriter covers: the envelope
 * decodeMessage builds in deterministic mode (no timestamp, seq or pid), then the body.
 * Used where a dump's bulk is printed (--dump-events); everything declined goes to decodeMessage.
 */
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import type { EventType } from "../event/model.ts";
import { Fragments, type JsonBytes, put } from "../event/json-bytes.ts";
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
  }

  private lastKey = -1;
  private last: Uint8Array | undefined;

  private envelope(type: EventType, msgType: number, flags: number): Uint8Array {
    const k = msgType * 0x10000 + flags;
    if (k === this.lastKey) return this.last!;
    this.lastKey = k;
    let b = this.envelopes.get(k);
    if (!b) {
      const p = this.protocol;
      const name = FAMILIES.get(p)?.msgTypeName(msgType) ?? String(msgType);
      const j = JSON.stringify;
      b = this.f.get(`{"type":${j(type)},"protocol":${p},"msg_type":${msgType},"netlink":{"protocol":${p},` +
        `"protocol_name":${j(protocolName(p))},"msg_type":${msgType},"msg_type_name":${j(name)},"msg_flags":${flags},${j(type)}:`);
      this.envelopes.set(k, b);
    }
    return (this.last = b);
  }

  /** the functions a line goes through, for a one-shot run to keep out of the top JIT tier */
  hot(): ((...a: never[]) => unknown)[] {
    return this.body ? [this.write, this.body.write] : [this.write];
  }

  /** The message's line (no newline) into out (its lead, then from out.pos), or undefined: decode it instead. */
  write(hdr: NlMsgHeader, u: Uint8Array, dv: DataView, off: number, end: number, out: JsonBytes): EventType | undefined {
    if (!this.body || hdr.type < NLMSG_MIN_TYPE) return undefined;
    const type = this.body.typeOf(hdr.type);
    if (type === undefined) return undefined;
    out.leadWith(this.envelope(type, hdr.type, hdr.flags));
    if (!this.body.write(hdr, u, dv, off, end, out)) return undefined;
    if (out.trail) out.trailWith(this.close);
    else {
      out.room(2);
      out.pos = put(out.buf, out.pos, this.close);
    }
    return type;
  }
}
