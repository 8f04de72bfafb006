/**
 * Generic netlink's framing, both ways: a request is a netlink header, the genlmsghdr (command and
 * version) and attributes; a reply's attributes start after the genlmsghdr.
 */
import { AttrWriter } from "../../codec/attr.ts";
import { buildMessage, walkMessages } from "../../codec/nlmsg.ts";
import { OFFSETOF, SIZEOF } from "../../uapi/linux.gen.ts";

/** A request to family `familyId` (its id, or GENL_ID_CTRL for nlctrl). */
export function genlRequest(familyId: number, flags: number, cmd: number, version: number, attrs?: AttrWriter): Uint8Array {
  const a = attrs?.finish() ?? new Uint8Array(0);
  const body = new Uint8Array(SIZEOF.genlmsghdr + a.length);
  body[OFFSETOF["genlmsghdr.cmd"]] = cmd;
  body[OFFSETOF["genlmsghdr.version"]] = version;
  body.set(a, SIZEOF.genlmsghdr);
  return buildMessage(familyId, flags, 0, body);
}

/** Each message of `familyId` in the datagrams: its command, version and where its attributes lie. Malformed framing ends a datagram. */
export function genlReplies(datagrams: readonly Uint8Array[], familyId: number, each: (cmd: number, version: number, dv: DataView, off: number, end: number) => void): void {
  for (const d of datagrams) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    walkMessages(dv, 0, d.length, {
      message: (hdr, _dv, off, end) => {
        if (hdr.type !== familyId || end - off < SIZEOF.genlmsghdr) return;
        each(dv.getUint8(off + OFFSETOF["genlmsghdr.cmd"]), dv.getUint8(off + OFFSETOF["genlmsghdr.version"]), dv, off + SIZEOF.genlmsghdr, end);
      },
      framingError: () => {},
    });
  }
}
