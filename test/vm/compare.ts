/**
 * The Wi-Fi VM's verdict (make test-vm): nlmon's nl80211 events against what `iw event -t -f`
 * printed in the same run, event for event, for each backend; the replay of the nlmon-device
 * capture against the live stream; the VRF and dummy devices in nlmon's route events against
 * iproute2's view. Counts come from iw's text and the capture, never from nlmon's output alone;
 * lost and extra events are counted apart.
 *
 *   node_modules/.bin/bun test/vm/compare.ts OUTDIR
 *
 * Prints what differs, then one summary line; exits 1 when anything differs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Nl80211Body, NlEvent } from "../../src/event/model.ts";
import { parseIwEvents, type IwEvent } from "./iw-parse.ts";

const ROOT = resolve(import.meta.dir, "../..");
const OUT = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "/tmp/nlmon-vm-out";
/** --list: every pair side by side (iw's line, nlmon's event), for reports */
const LIST = process.argv.includes("--list");
const problems: string[] = [];
const notes: string[] = [];

function readEvents(file: string): NlEvent[] {
  const p = join(OUT, file);
  if (!existsSync(p)) {
    problems.push(`${file}: missing`);
    return [];
  }
  const out: NlEvent[] = [];
  readFileSync(p, "utf8").split("\n").forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push(JSON.parse(l) as NlEvent);
    } catch {
      problems.push(`${file}:${i + 1}: not JSON: ${l.slice(0, 120)}`);
    }
  });
  return out;
}

/** iw's words for interface types (its event printer), as nl80211.h names them */
const IW_IFTYPE: Record<string, string> = {
  station: "station", "access point": "ap", monitor: "monitor", "P2P-Device": "p2p_device", "P2P-device": "p2p_device",
  IBSS: "adhoc", "mesh point": "mesh_point", "P2P-client": "p2p_client", "P2P-GO": "p2p_go", "AP/VLAN": "ap_vlan",
  WDS: "wds", managed: "station", AP: "ap", "outside context of a BSS": "ocb", NAN: "nan",
};

function wdevHex(w: number | string | undefined): string | undefined {
  return w === undefined ? undefined : `0x${BigInt(w).toString(16)}`;
}

/** What differs between iw's record of an event and nlmon's; empty when they say the same. */
function differences(iw: IwEvent, b: Nl80211Body, ifnames: Map<number, string>): string[] {
  const d: string[] = [];
  const same = (what: string, a: unknown, n: unknown) => {
    if (a !== undefined && JSON.stringify(a) !== JSON.stringify(n)) d.push(`${what}: iw ${JSON.stringify(a)}, nlmon ${JSON.stringify(n)}`);
  };
  const cmd = iw.cmd ?? (iw.cmd_number !== undefined ? String(iw.cmd_number) : undefined);
  if (cmd !== b.cmd_name && Number(cmd) !== b.cmd) return [`command: iw ${cmd}, nlmon ${b.cmd_name ?? b.cmd}`];
  same("wiphy", iw.wiphy, b.wiphy);
  same("wdev", iw.wdev, wdevHex(b.wdev));
  if (iw.ifname !== undefined) same("ifname", iw.ifname, b.ifname ?? (b.ifindex === undefined ? undefined : ifnames.get(b.ifindex)));
  if (iw.iftype !== undefined) same("iftype", IW_IFTYPE[iw.iftype] ?? iw.iftype, b.iftype);
  if (iw.kind === "new_wiphy") same("name", iw.name, b.wiphy_name);
  if (iw.kind === "new_station" || iw.kind === "del_station" || iw.kind === "connect") same("mac", iw.mac, b.mac);
  if (iw.from !== undefined) {
    same("frame source", iw.from, b.frame?.sa);
    same("frame destination", iw.to, b.frame?.da);
  }
  if (iw.frame) same("frame subtype", "mgmt", b.frame ? "mgmt" : undefined);
  if (iw.kind === "connect") same("status", iw.status, b.status_code);
  else if (iw.status !== undefined) same("status", iw.status, b.frame?.status_code);
  if (iw.kind === "disconnect") {
    same("reason", iw.reason, b.reason_code);
    same("by AP", iw.by_ap, b.disconnected_by_ap === true);
    if (iw.status_text !== undefined) same("reason text", iw.status_text, b.reason);
  } else if (iw.reason !== undefined) {
    same("reason", iw.reason, b.frame?.reason_code);
    if (iw.status_text !== undefined) same("reason text", iw.status_text, b.frame?.reason);
  } else if (iw.status_text !== undefined && iw.kind !== "connect") {
    same("status text", iw.status_text, b.frame?.status);
  }
  if (iw.freqs) same("frequencies", iw.freqs, b.scan_frequencies ?? []);
  if (iw.ssids) same("SSIDs", iw.ssids, b.scan_ssids ?? []);
  if (iw.kind === "reg_change") {
    if (iw.initiator && iw.initiator !== "unknown") same("initiator", iw.initiator, b.reg_initiator);
    if (iw.reg_type && iw.reg_type !== "unknown") same("regulatory type", iw.reg_type, b.reg_type);
    if (iw.reg_type === "country") same("alpha2", iw.alpha2, b.reg_alpha2);
  }
  if (iw.cookie !== undefined) same("cookie", iw.cookie.toString(), b.cookie === undefined ? undefined : String(b.cookie));
  if (iw.acked !== undefined) same("acked", iw.acked, b.ack === true);
  if (iw.vendor) {
    same("vendor OUI", iw.vendor.oui, b.vendor?.oui);
    same("vendor subcommand", iw.vendor.subcmd, b.vendor?.subcmd);
    // iw prints the vendor data's bytes: attribute 8 (hwsim's test value) read from them
    const data = iw.vendor.data;
    if (data && data.length >= 8 && data[2] === 8) {
      const v = data[4]! | (data[5]! << 8) | (data[6]! << 16) | (data[7]! << 24);
      same("vendor data attribute 8", v >>> 0, (b.vendor?.data as Record<string, unknown> | undefined)?.test);
    }
  }
  return d;
}

/** iw dev's words for interface types */
const IW_DEV_TYPE: Record<string, string> = { managed: "station", AP: "ap", "P2P-device": "p2p_device", monitor: "monitor", IBSS: "adhoc", "mesh point": "mesh_point", "P2P-client": "p2p_client", "P2P-GO": "p2p_go" };

interface IwDev { phy: number; name?: string; ifindex?: number; wdev: string; addr?: string; type: string; ssid?: string; freq?: number }

/** `iw dev`: phy#N, then each interface's lines */
function parseIwDev(text: string): IwDev[] {
  const out: IwDev[] = [];
  let phy = -1;
  let cur: IwDev | undefined;
  for (const line of text.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^phy#(\d+)/.exec(line))) phy = Number(m[1]);
    else if ((m = /^\tInterface (\S+)/.exec(line)) || /^\tUnnamed\/non-netdev interface/.test(line)) out.push((cur = { phy, name: m?.[1], wdev: "", type: "" }));
    else if (cur && (m = /^\t\tifindex (\d+)/.exec(line))) cur.ifindex = Number(m[1]);
    else if (cur && (m = /^\t\twdev (0x[0-9a-f]+)/.exec(line))) cur.wdev = m[1]!;
    else if (cur && (m = /^\t\taddr (\S+)/.exec(line))) cur.addr = m[1];
    else if (cur && (m = /^\t\ttype (.+)$/.exec(line))) cur.type = m[1]!;
    else if (cur && (m = /^\t\tssid (.+)$/.exec(line))) cur.ssid = m[1];
    else if (cur && (m = /^\t\tchannel \d+ \((\d+) MHz\)/.exec(line))) cur.freq = Number(m[1]);
  }
  return out;
}

/** `iw dev X station dump`: each station's MAC, interface and yes/no flags */
function parseStations(text: string): { mac: string; dev: string; flags: [string, boolean][] }[] {
  const out: { mac: string; dev: string; flags: [string, boolean][] }[] = [];
  const FLAGS: Record<string, string> = { authorized: "authorized", authenticated: "authenticated", associated: "associated", "WMM/WME": "wme", MFP: "mfp", "TDLS peer": "tdls_peer" };
  for (const line of text.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^Station (\S+) \(on (\S+)\)/.exec(line))) out.push({ mac: m[1]!, dev: m[2]!, flags: [] });
    else if (out.length && (m = /^\t([^:]+):\s*(yes|no)$/.exec(line)) && FLAGS[m[1]!.trim()]) out[out.length - 1]!.flags.push([FLAGS[m[1]!.trim()]!, m[2] === "yes"]);
  }
  return out;
}

/** `iw list`: each wiphy's frequencies that are not disabled */
function parseIwList(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let cur: number[] | undefined;
  for (const line of text.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^Wiphy (\S+)/.exec(line))) out.set(m[1]!, (cur = []));
    else if (cur && (m = /^\t\t\t\* (\d+)(?:\.\d+)? MHz \[\d+\](.*)$/.exec(line)) && !/disabled/.test(m[2]!)) cur.push(Number(m[1]));
  }
  for (const [k, v] of out) out.set(k, [...new Set(v)].sort((a, b) => a - b));
  return out;
}

interface Alignment {
  compared: number;
  matched: number;
  /** iw's events nlmon lacks */
  lost: number;
  /** nlmon's events iw did not print */
  extra: number;
  fieldDiffs: number;
  /** events matched out of turn (two CPUs' notifications reaching the two sockets in different orders) */
  reordered: number;
  maxSkewMs: number;
}

/**
 * nlmon's nl80211 events against iw's, in order. Where the commands part, the one that is missing
 * on one side is counted (lost or extra) and the walk resynchronises on the next common command.
 */
function align(label: string, iw: IwEvent[], events: NlEvent[]): Alignment {
  const nl = [...events];
  const ifnames = new Map<number, string>();
  for (const e of nl) {
    const b = e.netlink.nl80211;
    if (b?.ifindex !== undefined && b.ifname) ifnames.set(b.ifindex, b.ifname);
  }
  const a: Alignment = { compared: 0, matched: 0, lost: 0, extra: 0, fieldDiffs: 0, reordered: 0, maxSkewMs: 0 };
  const cmdOf = (x: IwEvent) => x.cmd ?? String(x.cmd_number);
  const nlCmd = (e: NlEvent) => e.netlink.nl80211!.cmd_name ?? String(e.netlink.nl80211!.cmd);
  /**
   * Two notifications sent from two CPUs at once may reach two sockets in either order: an event
   * of iw's found among nlmon's next few, within 100 ms, with the same facts, is the same one
   * delivered out of turn (moved into place and counted as reordered, not lost, extra or differing).
   */
  const outOfTurn = (i: number, j: number): boolean => {
    const k = nl.slice(j + 1, j + 4).findIndex((e) => nlCmd(e) === cmdOf(iw[i]!) && differences(iw[i]!, e.netlink.nl80211!, ifnames).length === 0
      && Math.abs(Date.parse(e.timestamp!) / 1000 - iw[i]!.ts) < 0.1);
    if (k < 0) return false;
    const [moved] = nl.splice(j + 1 + k, 1);
    nl.splice(j, 0, moved!);
    a.reordered++;
    return true;
  };
  let i = 0;
  let j = 0;
  while (i < iw.length || j < nl.length) {
    if (i < iw.length && j < nl.length && cmdOf(iw[i]!) === nlCmd(nl[j]!)) {
      // the same command from two interfaces at once (an AP and its station deleting each
      // other) may reach the two sockets in either order: the matching one a step later is that
      if (differences(iw[i]!, nl[j]!.netlink.nl80211!, ifnames).length && outOfTurn(i, j)) continue;
      a.compared++;
      const d = differences(iw[i]!, nl[j]!.netlink.nl80211!, ifnames);
      if (d.length) {
        a.fieldDiffs++;
        problems.push(`${label}: event ${i + 1} (${iw[i]!.text.slice(0, 90)}): ${d.join("; ")}`);
      } else a.matched++;
      if (LIST && label === "libnl") {
        const b = nl[j]!.netlink.nl80211!;
        const facts = Object.entries(b).filter(([k]) => !["cmd", "version", "generation", "sta_info"].includes(k)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
        console.log(`${String(i + 1).padStart(3)} iw:    ${iw[i]!.text.replace(/\s*\[frame:.*$/, "").slice(0, 150)}\n    nlmon: ${facts.slice(0, 300)}`);
      }
      const ts = Date.parse(nl[j]!.timestamp!) / 1000;
      a.maxSkewMs = Math.max(a.maxSkewMs, Math.abs(ts - iw[i]!.ts) * 1000);
      i++;
      j++;
      continue;
    }
    if (i < iw.length && outOfTurn(i, j)) continue;
    // which side skipped: the nearest resynchronisation wins
    const nextInNl = i < iw.length ? nl.slice(j, j + 8).findIndex((e) => nlCmd(e) === cmdOf(iw[i]!)) : -1;
    const nextInIw = j < nl.length ? iw.slice(i, i + 8).findIndex((x) => cmdOf(x) === nlCmd(nl[j]!)) : -1;
    if (j < nl.length && (i >= iw.length || (nextInNl >= 0 && (nextInIw < 0 || nextInNl <= nextInIw)))) {
      a.extra++;
      problems.push(`${label}: nlmon event ${nlCmd(nl[j]!)} at ${nl[j]!.timestamp} has no iw counterpart`);
      j++;
    } else {
      a.lost++;
      problems.push(`${label}: iw event ${i + 1} has no nlmon counterpart: ${iw[i]!.text.slice(0, 120)}`);
      i++;
    }
  }
  return a;
}

/** an event without what differs between a live run and a replay of its capture */
function essence(e: NlEvent): string {
  return JSON.stringify({ type: e.type, msg_type: e.msg_type, flags: e.netlink.msg_flags, body: e.netlink.nl80211 });
}

/** commands the kernel sends to one socket (the one that registered for frames), never to a group */
const UNICAST_ONLY = new Set(["frame", "control_port_frame", "unexpected_frame", "unexpected_4addr_frame"]);

function main(): number {
  const iwText = existsSync(join(OUT, "iw-event.txt")) ? readFileSync(join(OUT, "iw-event.txt"), "utf8") : "";
  if (!iwText) problems.push("iw-event.txt: missing or empty");
  const iw = parseIwEvents(iwText);
  const unknownIw = iw.filter((e) => e.kind === "unknown" && e.cmd_number === undefined);
  for (const u of unknownIw) problems.push(`iw-event.txt: a line the parser does not know: ${u.text}`);

  const summary: string[] = [`${iw.length} iw events`];
  const live: Record<string, NlEvent[]> = {};
  for (const backend of ["libnl", "legacy"]) {
    const evs = readEvents(`nlmon-${backend}.ndjson`).filter((e) => e.type === "nl80211");
    live[backend] = evs;
    const a = align(backend, iw, evs);
    summary.push(`${backend}: ${a.matched}/${iw.length} matched (${a.lost} lost, ${a.extra} extra, ${a.fieldDiffs} differing, ${a.reordered} reordered, time skew max ${a.maxSkewMs.toFixed(0)} ms)`);
    if (a.matched !== iw.length || a.extra) problems.push(`${backend}: ${a.matched} of ${iw.length} iw events matched, ${a.lost} lost, ${a.extra} extra`);
    // both clocks are the guest's: nlmon's receive time and iw's print time of the same message
    if (a.maxSkewMs > 2000) problems.push(`${backend}: an event's timestamp is ${a.maxSkewMs.toFixed(0)} ms from iw's`);
  }
  // nl80211 registered while the nlmons ran (cfg80211 loaded after them): each said it was absent,
  // then joined its groups when nlctrl announced it, and so saw every event iw printed
  for (const backend of ["libnl", "legacy"]) {
    const p = join(OUT, `nlmon-${backend}.stderr`);
    const err = existsSync(p) ? readFileSync(p, "utf8") : "";
    const absent = err.indexOf("Failed to resolve family 'nl80211'");
    const appeared = err.indexOf("generic netlink family 'nl80211' appeared");
    // one log line per join, naming one group or several
    const joins = err.split("\n").filter((l) => l.includes("joined nl80211 groups ")).join("\n");
    const groups = ["config", "scan", "regulatory", "mlme", "vendor"].filter((g) => new RegExp(`joined nl80211 groups (.*, )?${g}=`).test(joins));
    if (absent < 0 || appeared < absent || groups.length < 5) problems.push(`${backend}: its log does not show nl80211 absent at start, then appearing and each of its groups joined (${groups.join(", ") || "none"})`);
  }
  summary.push("nl80211 joined when it appeared: both");

  const lb = live.libnl!.map(essence);
  const lg = live.legacy!.map(essence);
  // the same events on both backends; their order may differ only where the kernel sent two at once
  if (JSON.stringify([...lb].sort()) !== JSON.stringify([...lg].sort())) problems.push("the libnl and legacy backends' nl80211 events differ");
  else if (JSON.stringify(lb) !== JSON.stringify(lg)) notes.push("libnl and legacy: the same events, two of them in the other order");

  // the replay of the capture: the notifications the monitors also received, once each
  const cap = join(OUT, "capture.pcap");
  if (!existsSync(cap)) problems.push("capture.pcap: missing");
  else {
    const r = Bun.spawnSync([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "src/cli/main.ts"), "--replay", cap], { stdout: "pipe", stderr: "pipe" });
    const replayed = r.stdout.toString().split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as NlEvent);
    if (r.exitCode !== 0) problems.push(`nlmon --replay capture.pcap: exit ${r.exitCode}: ${r.stderr.toString().trim().split("\n").slice(-2).join(" / ")}`);
    const notes80211 = replayed.filter((e) => e.type === "nl80211" && e.netlink.seq === 0 && e.netlink.pid === 0 && !(e.netlink.msg_flags & 1));
    const multicast = notes80211.filter((e) => !UNICAST_ONLY.has(e.netlink.nl80211!.cmd_name ?? ""));
    const rep = multicast.map(essence);
    const same = JSON.stringify([...rep].sort()) === JSON.stringify([...lb].sort());
    summary.push(`replay: ${rep.length} notifications ${same ? "equal to" : "DIFFER from"} the live ${lb.length} (+${notes80211.length - multicast.length} unicast frames)`);
    if (!same) {
      const missing = lb.filter((x) => !rep.includes(x));
      const extra = rep.filter((x) => !lb.includes(x));
      problems.push(`replay differs from the live stream: ${missing.length} live events not replayed (${missing[0]?.slice(0, 160) ?? "-"}), ${extra.length} replayed not live (${extra[0]?.slice(0, 160) ?? "-"})`);
    } else if (JSON.stringify(rep) !== JSON.stringify(lb)) notes.push("replay: the same events as live, some in the capture's order of delivery");
    const copies = /(\d+) copies of notifications/.exec(r.stderr.toString());
    if (copies) notes.push(`replay: ${copies[1]} copies (one per listening socket) replayed once each`);
  }

  // a VRF with its table and a dummy device enslaved to it, from nlmon's route events
  const routeEvs = live.libnl!.length ? readEvents("nlmon-libnl.ndjson") : [];
  const vrf = routeEvs.find((e) => e.type === "link" && e.netlink.link?.ifname === "vrf-blue");
  const dummy = routeEvs.filter((e) => e.type === "link" && e.netlink.link?.ifname === "dummy-blue").pop();
  const tableRoute = routeEvs.find((e) => e.type === "route" && e.netlink.route?.dst === "198.51.100.0/24");
  const vrfInfo = JSON.stringify(vrf?.netlink.link ?? {});
  const vrfOk = vrf?.netlink.link?.kind === "vrf" && vrf.netlink.link.vrf_table === 10;
  const dummyOk = dummy?.netlink.link?.kind === "dummy" && dummy.netlink.link.master === vrf?.netlink.link?.ifindex;
  const routeOk = tableRoute?.netlink.route?.table === 10;
  summary.push(`vrf: ${vrfOk ? "table 10" : "MISSING"}, dummy: ${dummyOk ? "enslaved" : "MISSING"}, route in table 10: ${routeOk ? "yes" : "MISSING"}`);
  if (!vrfOk) problems.push(`vrf-blue: no link event with kind vrf and table 10 (${vrfInfo.slice(0, 200)})`);
  if (!dummyOk) problems.push("dummy-blue: no link event of kind dummy enslaved to vrf-blue");
  if (!routeOk) problems.push("198.51.100.0/24: no route event in table 10");

  // --dump-events' nl80211 state against iw dev, iw dev wlan0 station dump and iw list
  const dumpEvs = readEvents("nlmon-dump.ndjson").filter((e) => e.type === "nl80211").map((e) => e.netlink.nl80211!);
  const iwDev = existsSync(join(OUT, "iw-dev.txt")) ? parseIwDev(readFileSync(join(OUT, "iw-dev.txt"), "utf8")) : [];
  if (!iwDev.length) problems.push("iw-dev.txt: missing or empty");
  let dumpMatched = 0;
  for (const d of iwDev) {
    const n = dumpEvs.find((b) => b.cmd_name === "new_interface" && wdevHex(b.wdev) === d.wdev);
    if (!n) {
      problems.push(`dump: no interface for iw dev's wdev ${d.wdev} (${d.name ?? "no netdev"})`);
      continue;
    }
    const diff: string[] = [];
    const want: Record<string, unknown> = { ifname: d.name, ifindex: d.ifindex, mac: d.addr, iftype: IW_DEV_TYPE[d.type] ?? d.type, wiphy: d.phy, ssid: d.ssid, wiphy_freq: d.freq };
    for (const [k, v] of Object.entries(want)) if (v !== undefined && (n as unknown as Record<string, unknown>)[k] !== v) diff.push(`${k}: iw ${JSON.stringify(v)}, nlmon ${JSON.stringify((n as unknown as Record<string, unknown>)[k])}`);
    if (diff.length) problems.push(`dump: interface ${d.name ?? d.wdev}: ${diff.join("; ")}`);
    else dumpMatched++;
  }
  const stations = existsSync(join(OUT, "iw-station-dump.txt")) ? parseStations(readFileSync(join(OUT, "iw-station-dump.txt"), "utf8")) : [];
  for (const st of stations) {
    const ifindex = iwDev.find((d) => d.name === st.dev)?.ifindex;
    const n = dumpEvs.find((b) => b.cmd_name === "new_station" && b.mac === st.mac && b.ifindex === ifindex);
    if (!n) problems.push(`dump: no station ${st.mac} on ${st.dev}`);
    else {
      const set = n.sta_info?.sta_flags?.set ?? [];
      const bad = st.flags.filter(([f, yes]) => set.includes(f) !== yes);
      if (bad.length) problems.push(`dump: station ${st.mac}: flags differ: ${bad.map(([f, y]) => `${f} iw ${y ? "yes" : "no"}`).join(", ")}`);
      else dumpMatched++;
    }
  }
  const lists = existsSync(join(OUT, "iw-list.txt")) ? parseIwList(readFileSync(join(OUT, "iw-list.txt"), "utf8")) : new Map<string, number[]>();
  for (const [phy, freqs] of lists) {
    const n = dumpEvs.find((b) => b.cmd_name === "new_wiphy" && b.wiphy_name === phy);
    const got = n ? Object.values(n.bands ?? {}).flat().sort((a, b) => a - b) : [];
    if (!n) problems.push(`dump: no wiphy ${phy}`);
    else if (JSON.stringify(got) !== JSON.stringify(freqs)) problems.push(`dump: ${phy}: usable frequencies differ: iw list ${freqs.length}, nlmon ${got.length}`);
    else dumpMatched++;
  }
  summary.push(`--dump-events: ${dumpMatched}/${iwDev.length + stations.length + lists.size} of iw's interfaces, stations and wiphys equal`);

  for (const p of problems) console.log(`DIFF ${p}`);
  for (const n of notes) console.log(n);
  console.log(`vm compare: ${summary.join("; ")}: ${problems.length ? `${problems.length} problems` : "all equal"}`);
  return problems.length ? 1 : 0;
}

process.exit(main());
