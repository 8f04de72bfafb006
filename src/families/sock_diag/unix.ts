/** AF_UNIX sockets: struct unix_diag_msg + UNIX_DIAG_* attributes (all host order). */
import type { SocketBody } from "../../event/socket-model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import { AttrReader } from "../../codec/reader.ts";
import { cstring } from "../../codec/format.ts";
import { SOCK_DGRAM, SOCK_STREAM } from "../../uapi/linux.gen.ts";
import {
  OFFSETOF, SIZEOF, UNIX_DIAG_ICONS, UNIX_DIAG_MEMINFO, UNIX_DIAG_NAME, UNIX_DIAG_PEER, UNIX_DIAG_RQLEN,
  UNIX_DIAG_SHUTDOWN, UNIX_DIAG_UID, UNIX_DIAG_VFS,
} from "../../uapi/sock_diag.gen.ts";
import { cookieHex, readSkMem, stateName } from "./inet.ts";

/** SOCK_SEQPACKET is not among the generated constants: such a socket's type reads as its number */
const TYPE_NAMES: Record<number, string> = { [SOCK_STREAM]: "stream", [SOCK_DGRAM]: "dgram" };

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * The bound name: a path is NUL-terminated; an abstract name starts with a NUL and may hold
 * more, every one of which ss prints as @.
 */
function unixName(dv: DataView, off: number, len: number): string {
  if (len === 0) return "";
  if (dv.getUint8(off) !== 0) return cstring(dv, off, len);
  const b = new Uint8Array(dv.buffer, dv.byteOffset + off, len).slice();
  for (let i = 0; i < b.length; i++) if (b[i] === 0) b[i] = 0x40;
  return utf8.decode(b);
}

const M = {
  family: OFFSETOF["unix_diag_msg.udiag_family"],
  type: OFFSETOF["unix_diag_msg.udiag_type"],
  state: OFFSETOF["unix_diag_msg.udiag_state"],
  ino: OFFSETOF["unix_diag_msg.udiag_ino"],
  cookie: OFFSETOF["unix_diag_msg.udiag_cookie"],
};

export function decodeUnix(dv: DataView, off: number, end: number, ctx: DecodeContext): SocketBody {
  const len = end - off;
  const family = dv.getUint8(off + M.family);
  const state = M.state < len ? dv.getUint8(off + M.state) : 0;
  const body: SocketBody = { family: ctx.names.family(family), family_num: family, state: stateName(state), state_num: state, inode: 0 };
  if (M.type < len) {
    const type = dv.getUint8(off + M.type);
    body.type = TYPE_NAMES[type] ?? String(type);
    body.type_num = type;
  }
  if (len < SIZEOF.unix_diag_msg) {
    ctx.error("truncated", `sock_diag: unix message of ${len} bytes, unix_diag_msg needs ${SIZEOF.unix_diag_msg}`);
    return body;
  }
  body.inode = dv.getUint32(off + M.ino, true);
  const cookie = cookieHex(dv, off + M.cookie);
  if (cookie !== undefined) body.cookie = cookie;

  const r = new AttrReader(dv, off + SIZEOF.unix_diag_msg, end);
  while (r.next()) {
    switch (r.type) {
      case UNIX_DIAG_NAME: body.name = unixName(dv, r.off, r.len); break;
      case UNIX_DIAG_VFS:
        if (r.len >= SIZEOF.unix_diag_vfs) {
          body.vfs_inode = dv.getUint32(r.off + OFFSETOF["unix_diag_vfs.udiag_vfs_ino"], true);
          body.vfs_dev = dv.getUint32(r.off + OFFSETOF["unix_diag_vfs.udiag_vfs_dev"], true);
        } else r.fail(`UNIX_DIAG_VFS has ${r.len} bytes, needs ${SIZEOF.unix_diag_vfs}`);
        break;
      case UNIX_DIAG_PEER: body.peer_inode = r.u32(); break;
      case UNIX_DIAG_ICONS: {
        const icons: number[] = [];
        for (let p = 0; p + 4 <= r.len; p += 4) icons.push(dv.getUint32(r.off + p, true));
        body.icons = icons;
        break;
      }
      case UNIX_DIAG_RQLEN:
        if (r.len >= SIZEOF.unix_diag_rqlen) {
          body.rqueue = dv.getUint32(r.off + OFFSETOF["unix_diag_rqlen.udiag_rqueue"], true);
          body.wqueue = dv.getUint32(r.off + OFFSETOF["unix_diag_rqlen.udiag_wqueue"], true);
        } else r.fail(`UNIX_DIAG_RQLEN has ${r.len} bytes, needs ${SIZEOF.unix_diag_rqlen}`);
        break;
      case UNIX_DIAG_MEMINFO: body.skmem = readSkMem(dv, r.off, r.len); break;
      case UNIX_DIAG_SHUTDOWN: body.shutdown = r.u8(); break;
      case UNIX_DIAG_UID: body.uid = r.u32(); break;
      default: ctx.unknownAttr("sock_diag.unix", r.type);
    }
  }
  if (r.err) ctx.error("bad_attr_len", `sock_diag: ${r.err}`);
  return body;
}
