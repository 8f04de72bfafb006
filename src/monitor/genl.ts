/**
 * Generic netlink families by name: one nlctrl dump lists every family with its id and multicast
 * groups. With the libnl backend each requested family and group is also resolved by libnl
 * (genl_ctrl_resolve, genl_ctrl_resolve_grp), and the two must agree.
 */
import type { Backend } from "../backend/types.ts";
import { genlResolve, genlResolveGroup, LibnlSocket, loadLibnl } from "../backend/libnl/binding.ts";
import { buildMessage } from "../codec/nlmsg.ts";
import { BasicContext } from "../decode/context.ts";
import { type GenlFamily, genlRegistry } from "../decode/genl/index.ts";
import { Names } from "../decode/names.ts";
import { decodeDump } from "../decode/dump.ts";
import { CTRL_CMD_GETFAMILY, GENL_ID_CTRL, NETLINK_GENERIC, NLM_F_DUMP, NLM_F_REQUEST, OFFSETOF, SIZEOF } from "../uapi/linux.gen.ts";

export class GenlResolveError extends Error {}

function getFamilyDump(): Uint8Array {
  const h = new Uint8Array(SIZEOF.genlmsghdr);
  h[OFFSETOF["genlmsghdr.cmd"]] = CTRL_CMD_GETFAMILY;
  // nlctrl does not check the version; 1 is what its first revision declared
  h[OFFSETOF["genlmsghdr.version"]] = 1;
  return buildMessage(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 0, h);
}

/** Every family the kernel has now, into the process-wide registry. */
export async function loadGenlFamilies(backend: Backend): Promise<Map<string, GenlFamily>> {
  const datagrams = await backend.dump(NETLINK_GENERIC, [getFamilyDump()]);
  decodeDump(datagrams, new BasicContext(new Names()), NETLINK_GENERIC);
  return genlRegistry.byName;
}

/** Resolve the configured families; an unknown one is an error that names it and what exists. */
export async function resolveFamilies(backend: Backend, wanted: string[], libnl?: { library?: string }): Promise<GenlFamily[]> {
  const all = await loadGenlFamilies(backend);
  const out: GenlFamily[] = [];
  for (const name of wanted) {
    const f = all.get(name);
    if (!f) {
      throw new GenlResolveError(`generic netlink family '${name}' not found (the kernel has: ${[...all.keys()].sort().join(", ")}); is its module loaded?`);
    }
    out.push(f);
  }
  if (libnl) crossCheckWithLibnl(out, libnl.library);
  return out;
}

function crossCheckWithLibnl(families: GenlFamily[], library?: string) {
  const { lib } = loadLibnl({ library });
  const sock = new LibnlSocket(lib, "generic");
  try {
    sock.connect();
    for (const f of families) {
      const id = genlResolve(sock, f.name);
      if (id !== f.id) throw new GenlResolveError(`libnl resolves family '${f.name}' to ${id}, nlctrl's dump says ${f.id}`);
      for (const [g, gid] of Object.entries(f.groups)) {
        const lid = genlResolveGroup(sock, f.name, g);
        if (lid !== gid) throw new GenlResolveError(`libnl resolves group '${f.name}/${g}' to ${lid}, nlctrl's dump says ${gid}`);
      }
    }
  } finally {
    sock.close();
  }
}

