// nl80211 events decoded from real messages: test/fixtures/genl/nl80211-*.hex were captured in the
// Wi-Fi VM (mac80211_hwsim, hostapd and wpa_supplicant; test/fuzz/capture-nl80211.ts). The values
// expected here are what `iw event -t -f` printed for the same messages in that run, e.g.
//   wlan1 (phy #1): auth 02:00:00:00:00:00 -> 02:00:00:00:01:00 status: 0: Successful
//   wlan1 (phy #1): deauth 02:00:00:00:01:00 -> 02:00:00:00:00:00 reason 3: Deauthenticated because ...
//   wlan1 (phy #1): disconnected (local request) reason: 3: ...
//   wlan0 (phy #0): vendor event 001374:1  (data 08 00 08 00 7c 00 00 00)
//   wlan1 (phy #1): scan finished: 2412, ""
//   phy #0: regulatory domain change: set to world roaming by the wireless core upon initialization request
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Nl80211Body } from "../../src/event/model.ts";
import { genlRegistry } from "../../src/families/genl/index.ts";
import { eventOf } from "../fixtures/genl.ts";

const DIR = join(import.meta.dir, "../fixtures/genl");
const bytes = (name: string) => Uint8Array.from(Buffer.from(readFileSync(join(DIR, name), "utf8").trim(), "hex"));

function body(cmd: string): Nl80211Body {
  const ev = eventOf(bytes(`nl80211-${cmd}.hex`));
  expect(ev.type).toBe("nl80211");
  expect(ev.decode_error).toBeUndefined();
  expect(ev.netlink.genl_family_name).toBe("nl80211");
  return ev.netlink.nl80211!;
}

// the registry is the process's: what these tests teach it is taken back, for the files after
const before = new Map(genlRegistry.byId);
afterAll(() => {
  for (const id of [...genlRegistry.byId.keys()]) genlRegistry.remove(id);
  for (const f of before.values()) genlRegistry.add(f);
});

beforeAll(() => {
  // the VM kernel's nlctrl reply naming nl80211's id, as a monitor learns it
  eventOf(bytes("ctrl-family-nl80211.hex"));
  expect(genlRegistry.byName.get("nl80211")?.id).toBe(32);
});

describe("nl80211 from the Wi-Fi VM", () => {
  test("new_interface: wiphy, ifindex, ifname, iftype and MAC", () => {
    const b = body("new_interface");
    expect(b).toMatchObject({ cmd_name: "new_interface", wiphy: 0, ifname: "wlan0", iftype: "station", mac: "02:00:00:00:00:00" });
    expect(typeof b.ifindex).toBe("number");
  });

  test("set_interface to an access point", () => {
    expect(body("set_interface")).toMatchObject({ ifname: "wlan0", iftype: "ap" });
  });

  test("authenticate: the frame's addresses and status, named as iw names it", () => {
    const b = body("authenticate");
    expect(b.frame).toEqual({ subtype: "auth", sa: "02:00:00:00:00:00", da: "02:00:00:00:01:00", bssid: "02:00:00:00:00:00", status_code: 0, status: "Successful" });
  });

  test("associate: the association response and the SSID", () => {
    const b = body("associate");
    expect(b.frame).toMatchObject({ subtype: "assoc_resp", sa: "02:00:00:00:00:00", da: "02:00:00:00:01:00", status_code: 0 });
    expect(b.ssid).toBe("nlmon-test");
  });

  test("connect: the AP and the status", () => {
    expect(body("connect")).toMatchObject({ mac: "02:00:00:00:00:00", status_code: 0, status: "Successful", ssid: "nlmon-test" });
  });

  test("deauthenticate and disconnect: reason 3, a local request", () => {
    const d = body("deauthenticate");
    expect(d.frame).toMatchObject({ subtype: "deauth", sa: "02:00:00:00:01:00", da: "02:00:00:00:00:00", reason_code: 3 });
    expect(d.frame!.reason).toBe("Deauthenticated because sending station is leaving (or has left) the IBSS or ESS");
    const x = body("disconnect");
    expect(x).toMatchObject({ reason_code: 3 });
    expect(x.disconnected_by_ap).toBeUndefined();
  });

  test("new_station and del_station: the peer, and on removal its counters", () => {
    expect(body("new_station")).toMatchObject({ mac: "02:00:00:00:00:00" });
    const d = body("del_station");
    expect(d.mac).toMatch(/^02:00:00:00:0[01]:00$/);
    expect(d.sta_info!.signal).toBe(-30);
    expect(d.sta_info!.rx_packets).toBeGreaterThan(0);
    expect(d.sta_info!.connected_time).toBeGreaterThanOrEqual(0);
  });

  test("scan: the frequencies and SSIDs scanned", () => {
    expect(body("trigger_scan")).toMatchObject({ scan_frequencies: [2412], scan_ssids: [""] });
    expect(body("new_scan_results")).toMatchObject({ scan_frequencies: [2412], scan_ssids: [""] });
  });

  test("vendor: hwsim's QCA test event, OUI 00:13:74, subcommand 1, attribute 8", () => {
    expect(body("vendor").vendor).toEqual({ oui: 0x001374, oui_hex: "00:13:74", vendor: "QCA", subcmd: 1, subcmd_name: "test", data: { test: 0x7c } });
  });

  test("reg_change: initiator and type", () => {
    expect(body("reg_change")).toMatchObject({ reg_initiator: "core", reg_type: "world" });
  });

  test("frame_tx_status: cookie and ack", () => {
    const b = body("frame_tx_status");
    expect(typeof b.cookie).toBe("number");
    expect(b.frame).toBeDefined();
  });

  test("control port frames are EAPOL: their size, not their content (key material)", () => {
    const b = body("control_port_frame");
    expect(b.frame).toBeUndefined();
    expect(b.frame_len).toBeGreaterThan(0);
  });
});

// taskstats: an exit record captured on this host (nlmon's pcap export while `sleep 0.1` ran)
describe("taskstats exit record", () => {
  test("read by the header's offsets up to what the kernel sent; a newer version's tail is counted", async () => {
    const { familyRecords } = await import("../fixtures/genl.ts");
    // this host's family ids, as a monitor learns them from nlctrl
    for (const rec of familyRecords()) eventOf(rec);
    const ev = eventOf(bytes("taskstats-exit.hex"));
    expect(ev.type).toBe("taskstats");
    expect(ev.decode_error).toBeUndefined();
    const t = ev.netlink.taskstats!;
    expect(t.cmd_name).toBe("new");
    expect(t.stats!.ac_comm).toBe("sleep");
    expect(t.stats!.ac_pid).toBe(t.pid!);
    expect(t.stats!.ac_exitcode).toBe(0);
    // this kernel sends version 16; nlmon's header (Debian's) describes 13
    expect(t.stats!.version).toBeGreaterThanOrEqual(13);
    expect(t.unknown_tail_bytes).toBeGreaterThan(0);
  });
});
