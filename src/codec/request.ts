/**
 * Dump requests. Family-specific header bodies are passed in by the caller (decode knows them);
 * the codec only frames them with NLM_F_REQUEST | NLM_F_DUMP.
 */
import { NLM_F_DUMP, NLM_F_REQUEST } from "../uapi/linux.gen.ts";
import { buildMessage } from "./nlmsg.ts";

export function dumpRequest(type: number, body: Uint8Array, seq = 0): Uint8Array {
  return buildMessage(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body);
}
