/**
 * The migration guide's troubleshooting steps show pieces of the netlink section on their own
 * (`caching: {enabled: false}`, `buffer_size: {receive: 65536}`, `protocols: {generic: true}`),
 * and an operator pastes them as they are. The netlink section's keys share no name with the top
 * level's, so such a key written at the top level can only mean the netlink one: it is moved
 * there (in the parsed document, so every position in messages stays exact) and a note says so.
 * Written in both places it is an error, since neither can be said to win.
 */
import { isMap, isScalar, type Document, type Pair, YAMLMap } from "yaml";
import type { NlmonConfig } from "./types.ts";

interface SchemaLike {
  properties?: Record<string, SchemaLike>;
}

export interface LiftResult {
  /** keys moved under netlink, with where they were */
  lifted: { key: string; offset: number }[];
  /** keys written both at the top level and under netlink */
  conflicts: { key: string; offset: number }[];
}

function keyName(p: Pair): string {
  return isScalar(p.key) ? String(p.key.value) : String(p.key);
}

export function liftNetlinkKeys(doc: Document, schema: SchemaLike): LiftResult {
  const out: LiftResult = { lifted: [], conflicts: [] };
  const root = doc.contents;
  if (!isMap(root)) return out;
  const top = new Set(Object.keys(schema.properties ?? {}));
  const netlinkKeys = new Set(Object.keys(schema.properties?.netlink?.properties ?? {}));
  const strays = root.items.filter((p) => {
    const k = keyName(p);
    return !top.has(k) && netlinkKeys.has(k);
  });
  if (!strays.length) return out;
  let section = root.items.find((p) => keyName(p) === "netlink");
  if (section && !isMap(section.value) && !(isScalar(section.value) && section.value.value === null)) return out;
  for (const p of strays) {
    const k = keyName(p);
    const offset = (isScalar(p.key) ? p.key.range?.[0] : undefined) ?? 0;
    const nl = section?.value;
    if (isMap(nl) && nl.items.some((q) => keyName(q) === k)) {
      out.conflicts.push({ key: k, offset });
      continue;
    }
    if (!section) {
      section = doc.createPair("netlink", new YAMLMap()) as Pair;
      root.items.push(section);
    }
    if (!isMap(section.value)) section.value = new YAMLMap();
    (section.value as YAMLMap).items.push(p);
    root.items.splice(root.items.indexOf(p), 1);
    out.lifted.push({ key: k, offset });
  }
  return out;
}

/** what loading decided on the operator's behalf, for the monitor to say at start */
const NOTES = new WeakMap<NlmonConfig, { level: "info" | "warn"; text: string }[]>();

export function addConfigNote(cfg: NlmonConfig, text: string, level: "info" | "warn" = "info") {
  const l = NOTES.get(cfg) ?? [];
  l.push({ level, text });
  NOTES.set(cfg, l);
}

export function configNotes(cfg: NlmonConfig): readonly { level: "info" | "warn"; text: string }[] {
  return NOTES.get(cfg) ?? [];
}
