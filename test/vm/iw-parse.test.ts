// The parser of `iw event -t -f` against what iw 5.19 printed in a real run of scripts/vm/run.sh
// (mac80211_hwsim, hostapd + wpa_supplicant; test/vm/iw-event.sample.txt is that run's iw-event.txt).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { countKinds, parseIwEventLine, parseIwEvents } from "./iw-parse.ts";

const sample = readFileSync(join(import.meta.dir, "iw-event.sample.txt"), "utf8");

describe("parseIwEvents on a real hwsim run", () => {
  const ev = parseIwEvents(sample);

  test("one record per event line; the vendor data's empty lines are dropped", () => {
    const lines = sample.split("\n").filter((l) => /^\d+\.\d{6}: /.test(l));
    expect(ev.length).toBe(lines.length);
    expect(ev.length).toBe(55);
    expect(ev.every((e) => e.kind !== "unknown")).toBe(true);
    expect(ev.every((e) => e.more === undefined)).toBe(true);
  });

  test("counts per kind", () => {
    expect(countKinds(ev)).toEqual({
      new_wiphy: 2, new_interface: 4, set_interface: 2, vendor: 2, frame_tx_status: 6,
      scan_start: 2, scan_done: 2, new_station: 4, auth: 2, assoc: 2, connect: 2,
      control_port_tx_status: 8, del_station: 4, deauth: 2, disconnect: 2, reg_change: 3,
      del_interface: 4, del_wiphy: 2,
    });
  });

  test("time stamps are seconds and never go back", () => {
    expect(ev[0].ts).toBeCloseTo(1795924526.922234, 6);
    for (let i = 1; i < ev.length; i++) expect(ev[i].ts).toBeGreaterThanOrEqual(ev[i - 1].ts);
  });
});

describe("parseIwEventLine", () => {
  const one = (l: string) => {
    const e = parseIwEventLine(l);
    if (!e) throw new Error(`no event in ${l}`);
    return e;
  };

  test("new wiphy and interfaces", () => {
    expect(one("1795924526.922234: phy #0: renamed to phy0")).toMatchObject({ kind: "new_wiphy", cmd: "new_wiphy", wiphy: 0, name: "phy0" });
    const e = one("1795924527.490066: wlan0 (phy #0): set interface type access point use 4addr 0");
    expect(e).toMatchObject({ kind: "set_interface", ifname: "wlan0", wiphy: 0, iftype: "access point", use_4addr: false });
    expect(one("1795924529.458140: wdev 0x100000002 (phy #1): new interface type P2P-Device use 4addr 0"))
      .toMatchObject({ kind: "new_interface", wdev: "0x100000002", wiphy: 1, iftype: "P2P-Device" });
    const gone = one("1795924545.212639: phy #0: del interface type station use 4addr 0");
    expect(gone).toMatchObject({ kind: "del_interface", wiphy: 0 });
    expect(gone.ifname).toBeUndefined();
    expect(one("1795924545.240009: phy #0: delete wiphy")).toMatchObject({ kind: "del_wiphy", wiphy: 0 });
  });

  test("stations carry the ifname only", () => {
    const e = one("1795924530.195796: wlan1: new station 02:00:00:00:00:00");
    expect(e).toMatchObject({ kind: "new_station", ifname: "wlan1", mac: "02:00:00:00:00:00" });
    expect(e.wiphy).toBeUndefined();
    expect(one("1795924533.101168: wlan0: del station 02:00:00:00:01:00")).toMatchObject({ kind: "del_station", cmd: "del_station", ifname: "wlan0", mac: "02:00:00:00:01:00" });
  });

  test("MLME events with -f: addresses, status or reason, the frame", () => {
    const auth = one("1795924530.230987: wlan1 (phy #1): auth 02:00:00:00:00:00 -> 02:00:00:00:01:00 status: 0: Successful [frame: b0 00 3a 01 02 00 00 00 01 00 02 00 00 00 00 00 02 00 00 00 00 00 20 00 00 00 02 00 00 00]");
    expect(auth).toMatchObject({ kind: "auth", cmd: "authenticate", from: "02:00:00:00:00:00", to: "02:00:00:00:01:00", status: 0, status_text: "Successful" });
    expect(auth.frame?.length).toBe(30);
    expect(auth.frame?.[0]).toBe(0xb0);
    const deauth = one("1795924533.068778: wlan1 (phy #1): deauth 02:00:00:00:01:00 -> 02:00:00:00:00:00 reason 3: Deauthenticated because sending station is leaving (or has left) the IBSS or ESS [frame: c0 00 00 00 02 00 00 00 00 00 02 00 00 00 01 00 02 00 00 00 00 00 00 00 03 00]");
    expect(deauth).toMatchObject({ kind: "deauth", cmd: "deauthenticate", from: "02:00:00:00:01:00", to: "02:00:00:00:00:00", reason: 3 });
    expect(deauth.status_text).toStartWith("Deauthenticated because");
    expect(deauth.frame?.at(-2)).toBe(3);
    expect(one("1795924530.443672: wlan1 (phy #1): connected to 02:00:00:00:00:00")).toMatchObject({ kind: "connect", mac: "02:00:00:00:00:00", status: 0 });
    expect(one("1795924533.077947: wlan1 (phy #1): disconnected (local request) reason: 3: Deauthenticated because sending station is leaving (or has left) the IBSS or ESS"))
      .toMatchObject({ kind: "disconnect", local: true, by_ap: false, reason: 3 });
    expect(one("1.000000: wlan1 (phy #1): disconnected (by AP) reason: 2: Previous authentication no longer valid"))
      .toMatchObject({ kind: "disconnect", local: false, by_ap: true, reason: 2 });
  });

  test("scans", () => {
    expect(one("1795924530.057936: wlan1 (phy #1): scan started")).toMatchObject({ kind: "scan_start", cmd: "trigger_scan", ifname: "wlan1" });
    expect(one('1795924536.924643: wlan1 (phy #1): scan finished: 2412 2437 2462, ""'))
      .toMatchObject({ kind: "scan_done", cmd: "new_scan_results", freqs: [2412, 2437, 2462], ssids: [""] });
    expect(one('1.000000: wlan1 (phy #1): scan aborted: 2412, "nlmon-test"')).toMatchObject({ kind: "scan_abort", freqs: [2412], ssids: ["nlmon-test"] });
  });

  test("regulatory changes", () => {
    expect(one("1795924538.350244: regulatory domain change: set to DE by a user request"))
      .toMatchObject({ kind: "reg_change", alpha2: "DE", reg_type: "country", initiator: "user" });
    const w = one("1795924545.054217: phy #0: regulatory domain change: set to world roaming by the wireless core upon initialization request");
    expect(w).toMatchObject({ kind: "reg_change", wiphy: 0, reg_type: "world", initiator: "core" });
  });

  test("TX status and vendor events", () => {
    const tx = one("1795924544.987623: wlan0 (phy #0): mgmt TX status (cookie a): no ack");
    expect(tx).toMatchObject({ kind: "frame_tx_status", cookie: 10n, acked: false });
    expect(one("1795924530.727851: wlan0 (phy #0): ctrl. port TX status (cookie 4): acked"))
      .toMatchObject({ kind: "control_port_tx_status", cmd: "control_port_frame_tx_status", cookie: 4n, acked: true });
    const v = one("1795924541.389979: wlan0 (phy #0): vendor event 001374:1vendor event: 08 00 08 00 2b 00 00 00 ");
    expect(v).toMatchObject({ kind: "vendor", ifname: "wlan0", vendor: { oui: 0x001374, oui_hex: "001374", subcmd: 1, data: [8, 0, 8, 0, 0x2b, 0, 0, 0] } });
  });

  test("other shapes: -T time stamps, unknown events, continuation lines", () => {
    const e = one("[2026-11-29 03:55:26.922234]: phy #0: renamed to phy0");
    expect(e.kind).toBe("new_wiphy");
    expect(e.ts % 1).toBeCloseTo(0.922234, 5);
    expect(one("1.000000: wlan0 (phy #0): unknown event 140 (NL80211_CMD_FOO)")).toMatchObject({ kind: "unknown", cmd_number: 140, cmd: "foo" });
    expect(parseIwEventLine("vendor event: 08 00")).toBeNull();
    const ev = parseIwEvents("1.000000: wlan0 (phy #0): something new\n\tdetail\n\n2.000000: phy #0: delete wiphy\n");
    expect(ev.map((x) => x.kind)).toEqual(["unknown", "del_wiphy"]);
    expect(ev[0].more).toEqual(["\tdetail"]);
  });
});
