/**
 * Shortening an event's JSON to a byte budget so it still parses: a collector that parses syslog
 * messages as JSON (rsyslog's mmjsonparse, Logstash, Vector) must not lose a long event to a cut in
 * the middle of a string.
 */

/** a field kept whatever the budget (`true`), or an object some of whose fields are */
type Keep = { readonly [key: string]: true | Keep };

/**
 * What says what happened and when. `resync` and `implicit` come last in an event but change what
 * it means (a derived event, not a kernel message), and are a few bytes.
 */
const KEEP: Keep = { timestamp: true, type: true, netlink: { msg_type_name: true }, resync: true, implicit: true };

const MARK = `"truncated":true`;
/** the smallest answer: what is left when not even the kept fields fit */
const BARE = `{${MARK}}`;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `json` (an object) in at most `max` bytes of UTF-8, marked `"truncated": true`. Whole fields are
 * dropped from the end, the last and most deeply nested first: what stays is the event's leading
 * fields in their order, an object cut short inside, and the KEEP fields wherever they stood. A
 * list is kept whole or dropped, because part of one (flags, nexthops) reads as a different list.
 * Returns undefined when `json` is not a JSON object; never more than `max` bytes unless `max` is
 * below the 18 bytes of `{"truncated":true}`.
 */
export function fitJson(json: string, max: number): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isObj(v)) return undefined;
  delete v.truncated;
  // room for `,"truncated":true` after the fields
  const room = max - 2 - (MARK.length + 1);
  // without the kept fields if they alone are too long (a tiny limit): the leading fields then
  for (const keep of [KEEP, {}]) {
    const parts = fitFields(v, room, keep);
    if (!parts) continue;
    parts.push(MARK);
    const out = `{${parts.join(",")}}`;
    if (bytes(out) <= max) return out;
  }
  return BARE;
}

/** the smallest form of a kept field: its kept leaves only */
function floorOf(v: unknown, want: true | Keep): string | undefined {
  if (want === true) return JSON.stringify(v);
  if (!isObj(v)) return undefined;
  const parts: string[] = [];
  for (const k of Object.keys(v)) {
    const w = want[k];
    const f = w === undefined ? undefined : floorOf(v[k], w);
    if (f !== undefined) parts.push(`${JSON.stringify(k)}:${f}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * The fields of `o` as `"key":value` texts whose join with commas takes at most `room` bytes,
 * or undefined when the kept fields alone do not fit.
 */
function fitFields(o: Obj, room: number, keep: Keep): string[] | undefined {
  const keys = Object.keys(o);
  // the kept fields' smallest forms are set aside first, so earlier fields cannot crowd them out
  const floors = keys.map((k) => {
    const w = keep[k];
    const f = w === undefined ? undefined : floorOf(o[k], w);
    return f === undefined ? 0 : bytes(JSON.stringify(k)) + 1 + bytes(f) + 1;
  });
  // each reservation counts a comma, and the first field needs none
  let reserved = floors.reduce((a, b) => a + b, 0);
  if (room < 0 || reserved > room + 1) return undefined;
  const parts: string[] = [];
  let used = 0;
  // false once a field did not fit whole: after it only kept fields follow, so what stays of
  // the rest is a prefix of the event
  let open = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = o[k];
    const want = keep[k];
    reserved -= floors[i]!;
    if (!open && !want) continue;
    const comma = parts.length ? 1 : 0;
    const free = room - used - comma - reserved;
    const key = `${JSON.stringify(k)}:`;
    const whole = key + JSON.stringify(v);
    const n = bytes(whole);
    if (n <= free) {
      parts.push(whole);
      used += comma + n;
      continue;
    }
    open = false;
    if (!isObj(v) || want === true) continue;
    const inner = fitFields(v, free - bytes(key) - 2, want ?? {});
    // an object left empty says nothing a reader can use, unless it holds kept fields
    if (!inner || (inner.length === 0 && !want)) continue;
    const s = `${key}{${inner.join(",")}}`;
    parts.push(s);
    used += comma + bytes(s);
  }
  return parts;
}
