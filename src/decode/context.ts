/**
 * What decoders need beyond the bytes: interface names seen so far, user-defined names for
 * tables and protocols, and where to count what could not be decoded.
 */
import type { Names } from "./names.ts";

export type DecodeErrorKind = "truncated" | "bad_attr_len" | "bad_length" | "unknown_msg_type" | "unknown_attr";

export interface DecodeContext {
  readonly names: Names;
  ifname(index: number): string | undefined;
  setIfname(index: number, name: string | undefined): void;
  error(kind: DecodeErrorKind, detail: string): void;
  unknownAttr(where: string, type: number): void;
}

export class BasicContext implements DecodeContext {
  private readonly ifnames = new Map<number, string>();
  /**
   * Names of links that are gone, newest last and bounded: cached routes that leave with their
   * link are reported after it, and should still name it. The kernel does not hand a freed
   * ifindex out again until its counter wraps.
   */
  private readonly former = new Map<number, string>();
  readonly counts: Record<DecodeErrorKind, number> = {
    truncated: 0, bad_attr_len: 0, bad_length: 0, unknown_msg_type: 0, unknown_attr: 0,
  };
  /** last few problems, for logs; bounded */
  readonly recent: string[] = [];
  /** message-level problems found while decoding the current message */
  problems: string[] = [];
  unknownAttrs = new Map<string, Set<number>>();

  constructor(readonly names: Names) {}
  ifname(index: number) {
    return this.ifnames.get(index);
  }
  setIfname(index: number, name: string | undefined) {
    if (name === undefined) {
      const old = this.ifnames.get(index);
      if (old === undefined) return;
      this.ifnames.delete(index);
      this.former.delete(index);
      this.former.set(index, old);
      if (this.former.size > 4096) this.former.delete(this.former.keys().next().value!);
    } else this.ifnames.set(index, name);
  }
  /** the name a link had before it was deleted */
  formerIfname(index: number) {
    return this.former.get(index);
  }
  /** every problem counted so far, unknown attributes included: a cheap "anything new?" */
  total = 0;
  error(kind: DecodeErrorKind, detail: string) {
    this.counts[kind]++;
    this.total++;
    this.problems.push(detail);
    if (this.recent.length >= 32) this.recent.shift();
    this.recent.push(detail);
  }
  unknownAttr(where: string, type: number) {
    this.counts.unknown_attr++;
    this.total++;
    let s = this.unknownAttrs.get(where);
    if (!s) this.unknownAttrs.set(where, (s = new Set()));
    s.add(type);
  }
}
