/**
 * NETLINK_GENERIC: the genlmsghdr every family shares, nlctrl's own attributes (families and their
 * multicast groups), and for other families the attribute numbers and sizes, until a family gets
 * a table of its own. Family ids are dynamic, so names come from the resolver's registry.
 */
import {
  CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_DELFAMILY, CTRL_CMD_DELMCAST_GRP, CTRL_CMD_NEWMCAST_GRP, CTRL_ATTR_HDRSIZE, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_VERSION, GENL_ID_CTRL, NAMES, NETLINK_GENERIC,
  CTRL_CMD_GETFAMILY, NLM_F_DUMP, NLM_F_REQUEST, OFFSETOF, SIZEOF,
} from "../../uapi/linux.gen.ts";
import { genlRequest } from "./message.ts";
import { walkAttrs } from "../../codec/attr.ts";
import type { GenlBody } from "../../event/model.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { Family } from "../../decode/family.ts";
import { knownSet } from "../../decode/attrset.ts";
import { compileSet } from "../../decode/compile.ts";
import { genlPolicies, policyAttrs } from "./policy.ts";
import { subfamily } from "./subfamilies.ts";
import { familyNames } from "./names.ts";

export interface GenlFamily {
  id: number;
  name: string;
  version?: number;
  groups: Record<string, number>;
}

/** id → family, filled by resolution and by nlctrl's NEWFAMILY/DELFAMILY notifications */
export class GenlRegistry {
  readonly byId = new Map<number, GenlFamily>();
  readonly byName = new Map<string, GenlFamily>();
  add(f: GenlFamily) {
    // an id handed to a new family (or a name moved to a new id) drops the old pairing, so the
    // maps hold one entry per live family however many announcements a capture replays
    const old = this.byId.get(f.id);
    if (old && this.byName.get(old.name) === old) this.byName.delete(old.name);
    const prev = this.byName.get(f.name);
    if (prev && prev.id !== f.id) this.byId.delete(prev.id);
    this.byId.set(f.id, f);
    this.byName.set(f.name, f);
  }
  remove(id: number) {
    const f = this.byId.get(id);
    if (f) this.byName.delete(f.name);
    this.byId.delete(id);
  }
  /**
   * What an nlctrl message says about a family. NEWMCAST_GRP and DELMCAST_GRP carry only the group
   * that changed, not the family's whole list, so they amend the groups instead of replacing them.
   */
  update(cmd: number, f: GenlFamily) {
    const known = this.byId.get(f.id);
    if (cmd === CTRL_CMD_DELFAMILY) this.remove(f.id);
    else if (cmd === CTRL_CMD_NEWMCAST_GRP && known) Object.assign(known.groups, f.groups);
    else if (cmd === CTRL_CMD_DELMCAST_GRP) {
      if (known) for (const g of Object.keys(f.groups)) delete known.groups[g];
    } else this.add(f);
  }
}

function mcastGroups(dv: DataView, off: number, len: number, ctx: DecodeContext) {
  const groups: Record<string, number> = {};
  // an array: each element is a nested set whose own type is just its index
  walkAttrs(dv, off, off + len, (_i, o, l) => {
    const g = decodeGroup(dv, o, o + l, ctx);
    if (typeof g.name === "string" && typeof g.id === "number") groups[g.name] = g.id;
  });
  return groups;
}

export const GRP_ATTRS = knownSet("genl.ctrl.mcast_group", NAMES.ctrl_attr_mcast_grp as Record<number, string>, {
  [CTRL_ATTR_MCAST_GRP_ID]: { name: "id", type: "u32" },
  [CTRL_ATTR_MCAST_GRP_NAME]: { name: "name", type: "string" },
});
const decodeGroup = compileSet(GRP_ATTRS);

// the rest of nlctrl's attributes (ops, policies) are known, just not part of the event
export const CTRL_ATTRS = knownSet("genl.ctrl", NAMES.ctrl_attr as Record<number, string>, {
  [CTRL_ATTR_FAMILY_ID]: { name: "family_id", type: "u16" },
  [CTRL_ATTR_FAMILY_NAME]: { name: "family_name", type: "string" },
  [CTRL_ATTR_VERSION]: { name: "version", type: "u32" },
  [CTRL_ATTR_HDRSIZE]: { name: "hdrsize", type: "u32" },
  [CTRL_ATTR_MAXATTR]: { name: "maxattr", type: "u32" },
  [CTRL_ATTR_MCAST_GROUPS]: { name: "mcast_groups", type: "binary", parse: mcastGroups },
});
const decodeCtrl = compileSet(CTRL_ATTRS);

const CTRL_CMD = NAMES.ctrl_cmd as Record<number, string>;


/** nlctrl's dump of every family with its id and multicast groups */
export function getFamilyDump(): Uint8Array {
  // nlctrl does not check the version; 1 is what its first revision declared
  return genlRequest(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, CTRL_CMD_GETFAMILY, 1);
}

export function genlFamilyDecoder(registry: GenlRegistry): Family {
  return {
    name: "generic",
    protocol: NETLINK_GENERIC,
    // families are objects of nlctrl, but their ids are dynamic: the registry pairs them, not message types
    objects: [],
    // groups belong to each family and are resolved from the kernel by name (monitor/genl.ts)
    groups: {},
    dumpRequests: () => [{ type: "genl", request: getFamilyDump() }],
    // --dump-events takes no generic netlink snapshot
    dumpOrder: [],
    netlinkFields(netlink, hdr, body) {
      // the guide's generic netlink fields sit beside the others in the netlink block
      const g = body as GenlBody;
      netlink.genl_cmd = g.cmd;
      netlink.genl_version = g.version;
      netlink.genl_family_id = hdr.type;
      netlink.genl_family_name = netlink.msg_type_name;
    },
    msgTypeName: (t) => registry.byId.get(t)?.name ?? (t === GENL_ID_CTRL ? "nlctrl" : undefined),
    decode(hdr, dv, off, end, ctx) {
      if (end - off < SIZEOF.genlmsghdr) {
        ctx.error("truncated", `genl: ${end - off} bytes, genlmsghdr needs ${SIZEOF.genlmsghdr}`);
        return { type: "genl", body: undefined };
      }
      const cmd = dv.getUint8(off + OFFSETOF["genlmsghdr.cmd"]);
      const version = dv.getUint8(off + OFFSETOF["genlmsghdr.version"]);
      const body: GenlBody = { cmd, version };
      const aoff = off + SIZEOF.genlmsghdr;
      if (hdr.type === GENL_ID_CTRL) {
        body.cmd_name = CTRL_CMD[cmd];
        const a = decodeCtrl(dv, aoff, end, ctx);
        body.family = {
          id: a.family_id as number | undefined, name: a.family_name as string | undefined,
          version: a.version as number | undefined, mcast_groups: a.mcast_groups as Record<string, number> | undefined,
        };
        // keep the registry current as families come and go (modules loading)
        if (typeof a.family_id === "number" && typeof a.family_name === "string") {
          registry.update(cmd, { id: a.family_id, name: a.family_name, version: a.version as number | undefined, groups: { ...(a.mcast_groups as Record<string, number> | undefined) } });
        }
      } else {
        const fam = registry.byId.get(hdr.type);
        const sub = subfamily(fam?.name);
        if (sub) return { type: sub.type, body: sub.decode(cmd, version, dv, aoff, end, ctx) };
        const attrs = policyAttrs(dv, aoff, end, genlPolicies.get(hdr.type), cmd);
        const names = familyNames(fam?.name);
        const cmdName = names?.cmds[cmd];
        if (cmdName) body.cmd_name = cmdName;
        if (attrs && names?.attrs) {
          for (const a of attrs) {
            const n = names.attrs[a.type];
            if (n) a.name = n;
          }
        }
        if (attrs === undefined) {
          const bad = walkAttrs(dv, aoff, end, () => {});
          ctx.error("bad_attr_len", `genl: ${fam?.name ?? hdr.type}: malformed attribute at byte ${bad - off}`);
        } else body.attrs = attrs;
      }
      return { type: "genl", body };
    },
  };
}

/** One registry per process: family ids are the kernel's, the same for every socket. */
export const genlRegistry = new GenlRegistry();
export const genlFamily = genlFamilyDecoder(genlRegistry);
