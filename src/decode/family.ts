/** The shape every protocol family's decoder has, so the pipeline can hold them in one table. */
import type { NlMsgHeader } from "../codec/nlmsg.ts";
import type { EventType } from "../event/model.ts";
import type { DecodeContext } from "./context.ts";

export interface FamilyDecoder {
  protocol: number;
  msgTypeName(type: number): string | undefined;
  /**
   * Decode one message body. undefined: this family has no decoder for the type;
   * body undefined: the type is known but its body was malformed (the context holds why).
   */
  decode(hdr: NlMsgHeader, dv: DataView, off: number, end: number, ctx: DecodeContext): { type: EventType; body: object | undefined } | undefined;
}
