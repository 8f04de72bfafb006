/**
 * Prototype (issue 11): reads an attribute set written in the shape of a YNL spec (YAML) into the
 * same AttrSet the TypeScript tables give, so both forms run through one compiled decoder. Numbers
 * come from the generated UAPI module by each attribute's `uapi` name; custom parsers by name.
 */
import { parse } from "yaml";
import type { AttrDef, AttrSet } from "../../src/decode/attrset.ts";
import * as UAPI from "../../src/uapi/linux.gen.ts";

interface YnlAttr { name: string; uapi: string; type: AttrDef["type"]; "display-hint"?: AttrDef["display"]; "multi-attr"?: boolean; parse?: string }
interface YnlDoc { "attribute-sets": { name: string; "uapi-prefix": string; attributes: YnlAttr[] }[] }

export function loadYnlSet(text: string, setName: string, parsers: Record<string, AttrDef["parse"]>): AttrSet {
  const doc = parse(text) as YnlDoc;
  const s = doc["attribute-sets"].find((x) => x.name === setName);
  if (!s) throw new Error(`no attribute set ${setName}`);
  const attrs: Record<number, AttrDef> = {};
  for (const a of s.attributes) {
    const num = (UAPI as unknown as Record<string, number>)[`${s["uapi-prefix"]}${a.uapi}`];
    if (typeof num !== "number") throw new Error(`${setName}.${a.name}: ${s["uapi-prefix"]}${a.uapi} is not in the UAPI headers`);
    const def: AttrDef = { name: a.name, type: a.type };
    if (a["display-hint"]) def.display = a["display-hint"];
    if (a["multi-attr"]) def.multi = true;
    if (a.parse) def.parse = parsers[a.parse] ?? (() => { throw new Error(`no parser ${a.parse}`); });
    attrs[num] = def;
  }
  return { name: setName, attrs };
}
