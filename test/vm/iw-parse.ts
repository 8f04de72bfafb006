/**
 * Parses the text `iw event -t -f` prints into one record per nl80211 event, so that the events of
 * the VM scenario (scripts/vm/run.sh) can be lined up with nlmon's.
 *
 * Each event is one line `TS: WHO: MESSAGE`, where
 *   TS   is `SECONDS.MICROS` (-t, wall clock; -r gives the same shape relative to the previous
 *        event) or `[YYYY-MM-DD HH:MM:SS.MICROS]` (-T, local time),
 *   WHO  is `IFNAME (phy #N)`, `wdev 0xID (phy #N)`, `IFNAME`, `wdev 0xID`, `phy #N`, or absent,
 *        depending on which of ifindex / wdev / wiphy the message carried.
 * A few messages spill over: iw 5.19 prints a vendor event's data right after the header without a
 * newline and follows it with empty lines. Lines that do not start with a time stamp belong to the
 * event before them (kept in `more`); empty lines are dropped.
 */

/** A stable name for what happened; `cmd` below names the nl80211 command behind it. */
export type IwEventKind =
  | "new_wiphy" | "del_wiphy"
  | "new_interface" | "set_interface" | "del_interface"
  | "new_station" | "del_station"
  | "scan_start" | "scan_done" | "scan_abort"
  | "sched_scan_start" | "sched_scan_stop" | "sched_scan_results"
  | "reg_change" | "reg_beacon_hint"
  | "auth" | "assoc" | "deauth" | "disassoc" | "unprot_deauth" | "unprot_disassoc"
  | "connect" | "roam" | "disconnect" | "port_authorized"
  | "join_ibss" | "new_peer_candidate" | "michael_mic_failure" | "pmksa_candidate"
  | "remain_on_channel" | "cancel_remain_on_channel"
  | "frame" | "frame_tx_status" | "control_port_tx_status"
  | "cqm" | "ch_switch" | "ch_switch_started" | "radar" | "vendor"
  | "stop_ap" | "probe_client" | "conn_failed" | "rekey_offload" | "sta_opmode_changed"
  | "unknown";

export interface IwEvent {
  /** seconds (wall clock for -t and -T; since the previous event for -r) */
  ts: number;
  ifname?: string;
  wiphy?: number;
  /** wireless device id, hex as printed (`0x100000002`), for interfaces without a netdev (P2P-Device) */
  wdev?: string;
  kind: IwEventKind;
  /** the nl80211 command's name (NL80211_CMD_* without the prefix, lower case) when the line tells it */
  cmd?: string;
  /** the station or peer the event is about (new/del station, connect, IBSS, …) */
  mac?: string;
  /** the frame's addresses, `auth A -> B` (source -> destination) */
  from?: string;
  to?: string;
  status?: number;
  reason?: number;
  /** iw's words for the status or reason code */
  status_text?: string;
  /** disconnect: who ended it */
  by_ap?: boolean;
  local?: boolean;
  /** scan_done / scan_abort: the frequencies scanned (MHz) and the SSIDs asked for ("" is the wildcard) */
  freqs?: number[];
  ssids?: string[];
  vendor?: { oui: number; oui_hex: string; subcmd: number; data?: number[] };
  /** interface events: the interface type in iw's words ("station", "access point", "monitor", "P2P-Device", …) */
  iftype?: string;
  use_4addr?: boolean;
  /** new_wiphy: the name (`renamed to phy0`) */
  name?: string;
  /** reg_change */
  alpha2?: string;
  reg_type?: "country" | "world" | "custom_world" | "intersection" | "unknown";
  initiator?: "core" | "user" | "driver" | "country_ie" | "unknown";
  /** frame_tx_status / control_port_tx_status / remain_on_channel */
  cookie?: bigint;
  acked?: boolean;
  freq?: number;
  /** -f: the frame as hex bytes (`[frame: b0 00 …]`) */
  frame?: number[];
  /** unknown: the command number iw printed */
  cmd_number?: number;
  /** continuation lines that belong to this event */
  more?: string[];
  /** the line as printed (the first one, for events that spill over) */
  text: string;
}

const MAC = "[0-9a-f]{2}(?::[0-9a-f]{2}){5}";
const TS_EPOCH = /^(\d+)\.(\d{6}): /;
const TS_DATE = /^\[(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6})\]: /;
const WHO: [RegExp, (m: RegExpMatchArray, e: Partial<IwEvent>) => void][] = [
  [/^(\S*) \(phy #(\d+)\): /, (m, e) => { if (m[1].startsWith("wdev") || m[1] === "") return; e.ifname = m[1]; e.wiphy = +m[2]; }],
  [/^wdev (0x[0-9a-f]+) \(phy #(\d+)\): /, (m, e) => { e.wdev = m[1]; e.wiphy = +m[2]; }],
  [/^wdev (0x[0-9a-f]+): /, (m, e) => { e.wdev = m[1]; }],
  [/^phy #(\d+): /, (m, e) => { e.wiphy = +m[1]; }],
];

function hexBytes(s: string): number[] {
  return s.trim().split(/\s+/).filter((x) => /^[0-9a-f]{2}$/i.test(x)).map((x) => parseInt(x, 16));
}

/** `, "ssid1" "ssid2"` after the frequencies of a scan event: iw prints SSIDs escaped, quoted */
function parseSsids(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1].replace(/\\x([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, "$1"));
  return out;
}

/** Strips a trailing `[frame: …]` (iw -f) into e.frame and returns the rest. */
function takeFrame(msg: string, e: IwEvent): string {
  const m = /\s*\[frame:([0-9a-f ]*)\]\s*$/i.exec(msg);
  if (!m) return msg;
  e.frame = hexBytes(m[1]);
  return msg.slice(0, m.index);
}

const REG_INITIATOR: [string, IwEvent["initiator"]][] = [
  ["by the wireless core upon initialization request", "core"],
  ["by a user request", "user"],
  ["by a driver request", "driver"],
  ["by a country IE request", "country_ie"],
];

/** The message part (after `WHO: `) into kind and fields. */
function parseMessage(msg: string, e: IwEvent): void {
  let m: RegExpExecArray | null;
  const set = (kind: IwEventKind, cmd?: string) => { e.kind = kind; if (cmd) e.cmd = cmd; };

  if ((m = /^renamed to (\S+)$/.exec(msg))) { set("new_wiphy", "new_wiphy"); e.name = m[1]; return; }
  if (msg === "delete wiphy") return set("del_wiphy", "del_wiphy");
  if ((m = /^(new|set|del) interface(?: type (.+?))?(?: use 4addr (\d))?$/.exec(msg))) {
    set(`${m[1]}_interface` as IwEventKind, `${m[1]}_interface`);
    if (m[2] !== undefined) e.iftype = m[2];
    if (m[3] !== undefined) e.use_4addr = m[3] === "1";
    return;
  }
  if ((m = new RegExp(`^(new|del) station (${MAC})$`).exec(msg))) { set(`${m[1]}_station` as IwEventKind, `${m[1]}_station`); e.mac = m[2]; return; }
  if (msg === "scan started") return set("scan_start", "trigger_scan");
  if ((m = /^scan (finished|aborted):?(.*)$/.exec(msg))) {
    set(m[1] === "finished" ? "scan_done" : "scan_abort", m[1] === "finished" ? "new_scan_results" : "scan_aborted");
    const [freqPart, ...rest] = m[2].split(",");
    e.freqs = freqPart.trim() ? freqPart.trim().split(/\s+/).map(Number).filter((n) => Number.isFinite(n)) : [];
    e.ssids = parseSsids(rest.join(","));
    return;
  }
  if (msg === "scheduled scan started") return set("sched_scan_start", "start_sched_scan");
  if (msg === "sched scan stopped") return set("sched_scan_stop", "sched_scan_stopped");
  if (msg === "got scheduled scan results") return set("sched_scan_results", "sched_scan_results");
  if ((m = /^regulatory domain change: ?(.*)$/.exec(msg))) {
    // REG_CHANGE and WIPHY_REG_CHANGE print alike (the former carries a wiphy too when a wiphy asked)
    set("reg_change", "reg_change");
    let rest = m[1];
    for (const [words, who] of REG_INITIATOR) {
      if (rest.endsWith(words)) { e.initiator = who; rest = rest.slice(0, -words.length).trim(); break; }
    }
    if (/^set to world roaming/.test(rest)) { e.reg_type = "world"; e.alpha2 = "00"; }
    else if (/^custom world roaming/.test(rest)) e.reg_type = "custom_world";
    else if (/^intersection used/.test(rest)) e.reg_type = "intersection";
    else if ((m = /^set to (\S{2})\b/.exec(rest))) { e.reg_type = "country"; e.alpha2 = m[1]; }
    else e.reg_type = "unknown";
    if (rest && e.initiator === undefined) e.initiator = "unknown";
    return;
  }
  if (msg.startsWith("regulatory beacon hint")) return set("reg_beacon_hint", "reg_beacon_hint");

  // MLME events: `auth`, or with -f `auth A -> B status: N: text [frame: …]`
  if ((m = /^(unprotected )?(auth|assoc|deauth|disassoc)\b ?(.*)$/.exec(msg))) {
    const names: Record<string, [IwEventKind, string]> = {
      auth: ["auth", "authenticate"], assoc: ["assoc", "associate"],
      deauth: ["deauth", "deauthenticate"], disassoc: ["disassoc", "disassociate"],
    };
    let [kind, cmd] = names[m[2]];
    if (m[1]) { kind = (m[2] === "deauth" ? "unprot_deauth" : "unprot_disassoc"); cmd = `unprot_${cmd}`; }
    set(kind, cmd);
    let rest = takeFrame(m[3], e);
    const a = new RegExp(`^(${MAC}) -> (${MAC})\\s*`).exec(rest);
    if (a) { e.from = a[1]; e.to = a[2]; rest = rest.slice(a[0].length); }
    const s = /^(status|reason):? (\d+)(?:: (.*))?$/.exec(rest.trim());
    if (s) {
      if (s[1] === "status") e.status = +s[2]; else e.reason = +s[2];
      if (s[3] !== undefined) e.status_text = s[3];
    }
    return;
  }
  if ((m = new RegExp(`^connected to (${MAC})$`).exec(msg))) { set("connect", "connect"); e.mac = m[1]; e.status = 0; return; }
  if ((m = new RegExp(`^failed to connect to (${MAC}), status: (\\d+)(?:: (.*))?$`).exec(msg))) {
    set("connect", "connect"); e.mac = m[1]; e.status = +m[2]; if (m[3] !== undefined) e.status_text = m[3]; return;
  }
  if ((m = new RegExp(`^roamed(?: to (${MAC}))?`).exec(msg))) { set("roam", "roam"); if (m[1]) e.mac = m[1]; return; }
  if ((m = /^disconnected(?: \((by AP|local request)\))?(?: reason: (\d+)(?:: (.*))?)?$/.exec(msg))) {
    set("disconnect", "disconnect");
    e.by_ap = m[1] === "by AP";
    e.local = m[1] === "local request";
    if (m[2] !== undefined) e.reason = +m[2];
    if (m[3] !== undefined) e.status_text = m[3];
    return;
  }
  if ((m = new RegExp(`^port authorized(?:.*?(${MAC}))?`).exec(msg))) { set("port_authorized", "port_authorized"); if (m[1]) e.mac = m[1]; return; }
  if ((m = new RegExp(`^IBSS (${MAC}) joined$`).exec(msg))) { set("join_ibss", "join_ibss"); e.mac = m[1]; return; }
  if ((m = new RegExp(`^new peer candidate(?:.*?(${MAC}))?`).exec(msg))) { set("new_peer_candidate", "new_peer_candidate"); if (m[1]) e.mac = m[1]; return; }
  if (msg.startsWith("michael MIC failure")) {
    set("michael_mic_failure", "michael_mic_failure");
    const a = new RegExp(`source MAC address (${MAC})`).exec(msg); if (a) e.mac = a[1];
    return;
  }
  if (msg.startsWith("PMKSA candidate")) return set("pmksa_candidate", "pmksa_candidate");
  if ((m = /^(mgmt|ctrl\. port) TX status \(cookie ([0-9a-f]+)\): (acked|no ack)$/.exec(msg))) {
    set(m[1] === "mgmt" ? "frame_tx_status" : "control_port_tx_status", m[1] === "mgmt" ? "frame_tx_status" : "control_port_frame_tx_status");
    e.cookie = BigInt(`0x${m[2]}`);
    e.acked = m[3] === "acked";
    return;
  }
  if ((m = /^(done with )?remain on freq (\d+)(?: \((\d+)ms, cookie ([0-9a-f]+)\)| \(cookie ([0-9a-f]+)\))?/.exec(msg))) {
    set(m[1] ? "cancel_remain_on_channel" : "remain_on_channel", m[1] ? "cancel_remain_on_channel" : "remain_on_channel");
    e.freq = +m[2];
    const c = m[4] ?? m[5]; if (c) e.cookie = BigInt(`0x${c}`);
    return;
  }
  if (/^mgmt frame|^frame\b|^rx frame/i.test(msg)) { set("frame", "frame"); takeFrame(msg, e); return; }
  if (msg.startsWith("connection quality monitor event")) return set("cqm", "notify_cqm");
  if ((m = /^channel switch( started)?/.exec(msg))) {
    set(m[1] ? "ch_switch_started" : "ch_switch", m[1] ? "ch_switch_started_notify" : "ch_switch_notify");
    const f = /freq[: ]+(\d+)/.exec(msg); if (f) e.freq = +f[1];
    return;
  }
  if (/^radar event|^DFS/i.test(msg)) return set("radar", "radar_detect");
  if ((m = /^vendor event ([0-9a-f]{6}):(\d+)(.*)$/i.exec(msg))) {
    set("vendor", "vendor");
    e.vendor = { oui: parseInt(m[1], 16), oui_hex: m[1].toLowerCase(), subcmd: +m[2] };
    // iw 5.19 prints the data right after the header, without a newline: `…:1vendor event: 08 00 …`
    const d = /vendor event: ?([0-9a-f ]*)$/i.exec(m[3]);
    if (d) e.vendor.data = hexBytes(d[1]);
    return;
  }
  if (msg.startsWith("stop ap")) return set("stop_ap", "stop_ap");
  if (msg.startsWith("probe client")) return set("probe_client", "probe_client");
  if (msg.startsWith("conn failed")) return set("conn_failed", "conn_failed");
  if (msg.startsWith("rekey offload")) return set("rekey_offload", "set_rekey_offload");
  if (msg.startsWith("sta opmode changed")) {
    set("sta_opmode_changed", "sta_opmode_changed");
    const a = new RegExp(MAC).exec(msg); if (a) e.mac = a[0];
    return;
  }
  if ((m = /^unknown event (\d+)(?: \((.*)\))?/.exec(msg))) {
    e.kind = "unknown";
    e.cmd_number = +m[1];
    if (m[2]) e.cmd = m[2].replace(/^NL80211_CMD_/i, "").toLowerCase();
    return;
  }
  e.kind = "unknown";
}

function parseTs(line: string): { ts: number; rest: string } | null {
  let m = TS_EPOCH.exec(line);
  if (m) return { ts: +m[1] + +m[2] / 1e6, rest: line.slice(m[0].length) };
  m = TS_DATE.exec(line);
  if (m) {
    const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    return { ts: d.getTime() / 1000 + +m[7] / 1e6, rest: line.slice(m[0].length) };
  }
  return null;
}

/** One event from one line, or null when the line does not start with a time stamp. */
export function parseIwEventLine(line: string): IwEvent | null {
  const t = parseTs(line);
  if (!t) return null;
  const e: IwEvent = { ts: t.ts, kind: "unknown", text: line };
  let msg = t.rest;
  for (const [re, apply] of WHO) {
    const m = re.exec(msg);
    if (!m) continue;
    const before = { ...e };
    apply(m, e);
    if (e.ifname !== before.ifname || e.wdev !== before.wdev || e.wiphy !== before.wiphy) { msg = msg.slice(m[0].length); break; }
  }
  // `IFNAME: message` (ifindex without wiphy, as for new/del station): a single word before ": "
  // that is not itself the start of a message
  if (e.ifname === undefined && e.wdev === undefined && e.wiphy === undefined) {
    const m = /^([^\s:()]+): (.*)$/.exec(msg);
    if (m && !/^(scan|vendor|regulatory|unknown)$/.test(m[1])) { e.ifname = m[1]; msg = m[2]; }
  }
  parseMessage(msg.replace(/\s+$/, ""), e);
  return e;
}

/** All events in the text `iw event -t -f` (or -r / -T) printed, in order. */
export function parseIwEvents(text: string): IwEvent[] {
  const out: IwEvent[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const e = parseIwEventLine(line);
    if (e) { out.push(e); continue; }
    const prev = out[out.length - 1];
    if (prev) (prev.more ??= []).push(line);
  }
  return out;
}

/** Counts per kind, for summaries. */
export function countKinds(events: IwEvent[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const e of events) c[e.kind] = (c[e.kind] ?? 0) + 1;
  return c;
}
