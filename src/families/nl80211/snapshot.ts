/**
 * nl80211's state for --dump-events: the wiphys (name, and each band's usable frequencies), the
 * interfaces (as `iw dev` lists them) and each interface's stations (as `iw dev X station dump`
 * lists them), so two access points can be diffed. What changes by the second (counters, signal
 * levels, times, the generation counter) is left out, as the dump leaves out time and sequence
 * numbers, so that two snapshots of the same state are byte-identical.
 */
import { AttrReader } from "../../codec/reader.ts";
import { AttrWriter } from "../../codec/attr.ts";
import type { DecodeContext } from "../../decode/context.ts";
import type { Nl80211Body } from "../../event/model.ts";
import { NLM_F_DUMP, NLM_F_REQUEST } from "../../uapi/linux.gen.ts";
import { genlReplies, genlRequest } from "../genl/message.ts";
import * as U from "../../uapi/nl80211.gen.ts";
import { decodeNl80211 } from "./index.ts";
import { BAND } from "./names.ts";

type Dump = (request: Uint8Array) => Promise<Uint8Array[]>;

/** nl80211 does not check the version of requests (0) */
const dumpOf = (familyId: number, cmd: number, attrs?: AttrWriter) => genlRequest(familyId, NLM_F_REQUEST | NLM_F_DUMP, cmd, 0, attrs);

/** a split wiphy dump sends each wiphy in parts: the bands' enabled frequencies, gathered */
function bandsOf(r: AttrReader, into: Map<string, Set<number>>) {
  const bands = r.nest();
  while (bands.next()) {
    const name = BAND[bands.type] ?? String(bands.type);
    const band = bands.nest();
    while (band.next()) {
      if (band.type !== U.NL80211_BAND_ATTR_FREQS) continue;
      const freqs = band.nest();
      while (freqs.next()) {
        const f = freqs.nest();
        let mhz: number | undefined;
        let disabled = false;
        while (f.next()) {
          if (f.type === U.NL80211_FREQUENCY_ATTR_FREQ) mhz = f.u32();
          else if (f.type === U.NL80211_FREQUENCY_ATTR_DISABLED) disabled = true;
        }
        if (mhz !== undefined && !disabled) {
          const set = into.get(name) ?? new Set<number>();
          set.add(mhz);
          into.set(name, set);
        }
      }
    }
  }
}

/** station counters and levels that change between two dumps of the same state */
const STABLE_STA = new Set(["sta_flags", "bss_param"]);

export async function nl80211Snapshot(familyId: number, dump: Dump, ctx: DecodeContext): Promise<Nl80211Body[]> {
  const out: Nl80211Body[] = [];

  const wiphys = new Map<number, { version: number; name?: string; bands: Map<string, Set<number>> }>();
  genlReplies(await dump(dumpOf(familyId, U.NL80211_CMD_GET_WIPHY, new AttrWriter().flag(U.NL80211_ATTR_SPLIT_WIPHY_DUMP))), familyId, (_cmd, version, dv, off, end) => {
    const r = new AttrReader(dv, off, end);
    let id: number | undefined;
    let name: string | undefined;
    const bands = new Map<string, Set<number>>();
    while (r.next()) {
      if (r.type === U.NL80211_ATTR_WIPHY) id = r.u32();
      else if (r.type === U.NL80211_ATTR_WIPHY_NAME) name = r.string();
      else if (r.type === U.NL80211_ATTR_WIPHY_BANDS) bandsOf(r, bands);
    }
    if (id === undefined) return;
    const w = wiphys.get(id) ?? { version, bands: new Map<string, Set<number>>() } as { version: number; name?: string; bands: Map<string, Set<number>> };
    if (name !== undefined) w.name = name;
    for (const [b, f] of bands) for (const x of f) (w.bands.get(b) ?? w.bands.set(b, new Set()).get(b)!).add(x);
    wiphys.set(id, w);
  });
  for (const [id, w] of [...wiphys].sort((a, b) => a[0] - b[0])) {
    const bands: Record<string, number[]> = {};
    for (const [b, f] of [...w.bands].sort()) bands[b] = [...f].sort((x, y) => x - y);
    out.push({ cmd: U.NL80211_CMD_NEW_WIPHY, version: w.version, cmd_name: "new_wiphy", wiphy: id, wiphy_name: w.name, bands });
  }

  const ifaces: Nl80211Body[] = [];
  genlReplies(await dump(dumpOf(familyId, U.NL80211_CMD_GET_INTERFACE)), familyId, (cmd, version, dv, off, end) => {
    const b = decodeNl80211(cmd, version, dv, off, end, ctx);
    delete b.generation;
    ifaces.push(b);
  });
  ifaces.sort((a, b) => (a.wiphy ?? 0) - (b.wiphy ?? 0) || (a.ifindex ?? 0) - (b.ifindex ?? 0) || String(a.wdev).localeCompare(String(b.wdev)));
  out.push(...ifaces);

  for (const i of ifaces) {
    if (i.ifindex === undefined) continue;
    const stations: Nl80211Body[] = [];
    genlReplies(await dump(dumpOf(familyId, U.NL80211_CMD_GET_STATION, new AttrWriter().u32(U.NL80211_ATTR_IFINDEX, i.ifindex))), familyId, (cmd, version, dv, off, end) => {
      const b = decodeNl80211(cmd, version, dv, off, end, ctx);
      delete b.generation;
      if (b.sta_info) {
        const s = b.sta_info as Record<string, unknown>;
        for (const k of Object.keys(s)) if (!STABLE_STA.has(k)) delete s[k];
      }
      if (b.ifname === undefined && i.ifname !== undefined) b.ifname = i.ifname;
      stations.push(b);
    });
    stations.sort((a, b) => String(a.mac).localeCompare(String(b.mac)));
    out.push(...stations);
  }
  return out;
}
