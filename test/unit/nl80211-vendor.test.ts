/**
 * nl80211 vendor data (src/families/nl80211/vendor.ts): QCA subcommands decoded from real bytes
 * (mac80211_hwsim's test event, and events built from the header's attribute numbers), other
 * vendors and malformed data kept as hex with a located error, and the generated tables: their
 * counts, and that both generators give the committed files again from the sources they name.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BasicContext } from "../../src/decode/context.ts";
import { Names } from "../../src/decode/names.ts";
import { REASON_CODES, STATUS_CODES, IEEE80211_SOURCE } from "../../src/families/nl80211/ieee80211.gen.ts";
import { QCA_ENUMS, QCA_SUBCMDS, QCA_VENDOR_SOURCE } from "../../src/families/nl80211/qca-vendor.gen.ts";
import { decodeVendor, OUI_QCA, type VendorInfo } from "../../src/families/nl80211/vendor.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = process.execPath;

const bytes = (h: string) => Uint8Array.from(h.trim().split(/\s+/).filter(Boolean).map((x) => Number.parseInt(x, 16)));
const dvOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function decode(oui: number, subcmd: number, hexData: string | undefined) {
  const ctx = new BasicContext(new Names());
  if (hexData === undefined) return { info: decodeVendor(oui, subcmd, undefined, 0, 0, ctx), ctx };
  const b = bytes(hexData);
  return { info: decodeVendor(oui, subcmd, dvOf(b), 0, b.length, ctx), ctx };
}

/** the vendor data of each example: NL80211_ATTR_VENDOR_DATA's payload */
const HEX = {
  // mac80211_hwsim's answer to its test command: QCA_WLAN_VENDOR_ATTR_TEST (8) = 43
  test: "08 00 08 00 2b 00 00 00",
  hang: "08 00 01 00 02 00 00 00 08 00 02 00 de ad be ef",
  thermal: "08 00 01 00 55 00 00 00 04 00 02 00 08 00 03 00 03 00 00 00",
  roam_events: "08 00 03 00 03 00 00 00 08 00 04 00 04 00 00 00 2c 00 06 80 28 00 01 80 0a 00 01 00 02 00 00 00 01 00 00 00 08 00 02 00 ba ff ff ff 08 00 03 00 3c 14 00 00 08 00 04 00 02 00 00 00 14 00 08 80 08 00 01 00 6c 09 00 00 08 00 02 00 3c 14 00 00",
  roam_scan: "08 00 01 00 00 00 00 00 08 00 02 00 00 00 00 00",
  roam_auth: "0a 00 01 00 02 00 00 00 01 00 00 00 0a 00 02 00 00 04 74 65 73 74 00 00 07 00 03 00 01 01 82 00 05 00 04 00 01 00 00 00 0c 00 05 00 01 00 00 00 00 00 00 00 14 00 06 00 aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa 14 00 07 00 bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb 06 00 09 00 00 00 00 00 06 00 0e 00 03 00 00 00",
  sta_info: "0a 00 01 00 02 00 00 00 00 01 00 00 08 00 02 00 05 00 00 00 08 00 03 00 01 00 00 00 08 00 17 00 d2 04 00 00 0c 00 19 00 b1 68 de 3a 00 00 00 00 08 00 26 00 02 00 00 00 08 00 2f 00 02 00 00 00 4c 00 38 80 24 00 00 80 05 00 01 00 07 00 00 00 0c 00 02 00 64 00 00 00 00 00 00 00 0c 00 03 00 c8 00 00 00 00 00 00 00 24 00 01 80 05 00 01 00 09 00 00 00 0c 00 02 00 05 00 00 00 00 00 00 00 0c 00 03 00 06 00 00 00 00 00 00 00 05 00 3e 00 02 00 00 00",
  ll_stats_iface: "08 00 01 00 07 00 00 00 08 00 4c 00 02 00 00 00 08 00 02 00 dc 05 00 00 0a 00 0a 00 02 00 00 00 00 01 00 00 08 00 0b 00 04 00 00 00 08 00 0e 00 6c 61 62 00 0a 00 0f 00 02 00 00 00 01 00 00 00 08 00 21 00 01 00 00 00 3c 00 46 80 1c 00 00 80 08 00 12 00 00 00 00 00 08 00 13 00 64 00 00 00 08 00 14 00 c8 00 00 00 1c 00 01 80 08 00 12 00 01 00 00 00 08 00 13 00 0a 00 00 00 08 00 14 00 14 00 00 00 05 00 47 00 00 00 00 00",
  ll_stats_radio: "08 00 01 00 07 00 00 00 08 00 4c 00 01 00 00 00 08 00 42 00 01 00 00 00 08 00 31 00 00 00 00 00 08 00 32 00 60 ea 00 00 08 00 33 00 b0 04 00 00 08 00 34 00 48 0d 00 00 08 00 3b 00 01 00 00 00 30 00 43 80 2c 00 00 80 08 00 3c 00 02 00 00 00 08 00 3d 00 3c 14 00 00 08 00 3e 00 5a 14 00 00 08 00 40 00 78 e6 00 00 08 00 41 00 40 1f 00 00 05 00 47 00 00 00 00 00",
  ll_stats_peers: "08 00 01 00 07 00 00 00 08 00 4c 00 03 00 00 00 08 00 21 00 01 00 00 00 5c 00 44 80 58 00 00 80 08 00 22 00 01 00 00 00 0a 00 23 00 02 00 00 00 01 00 00 00 08 00 25 00 01 00 00 00 38 00 45 80 34 00 00 80 05 00 26 00 03 00 00 00 05 00 27 00 01 00 00 00 05 00 28 00 02 00 00 00 05 00 29 00 09 00 00 00 08 00 2a 00 db 21 00 00 08 00 2b 00 88 13 00 00 05 00 47 00 00 00 00 00",
  ll_stats_ext: "08 00 0a 00 01 00 00 00 0a 00 08 00 02 00 00 00 00 02 00 00 08 00 15 00 2a 00 00 00 0c 00 16 00 68 10 00 00 00 00 00 00 0c 00 45 00 00 a8 da 76 9b 01 00 00 08 00 46 00 40 42 0f 00",
  async_station: "70 00 02 80 0a 00 06 00 02 00 00 00 00 02 00 00 60 00 15 80 08 00 01 00 78 00 00 00 08 00 02 00 e8 03 00 00 08 00 03 00 d0 07 00 00 05 00 07 00 c9 00 00 00 24 00 08 80 06 00 01 00 b0 04 00 00 08 00 05 00 b0 04 00 00 05 00 0d 00 0b 00 00 00 05 00 0e 00 02 00 00 00 0c 00 17 00 e8 03 00 00 00 00 00 00 0c 00 18 00 d0 07 00 00 00 00 00 00",
};

const QCA = { oui: OUI_QCA, oui_hex: "00:13:74", vendor: "QCA" };

describe("QCA vendor data from bytes", () => {
  test("mac80211_hwsim's test event: subcmd 1, attribute 8 as u32", () => {
    const { info, ctx } = decode(0x001374, 1, HEX.test);
    expect(info).toEqual({ ...QCA, subcmd: 1, subcmd_name: "test", data: { test: 43 } } satisfies VendorInfo);
    expect(ctx.total).toBe(0);
  });

  test("HANG: the reason by name, its dump as hex", () => {
    const { info, ctx } = decode(OUI_QCA, 157, HEX.hang);
    expect(info).toEqual({ ...QCA, subcmd: 157, subcmd_name: "hang", data: { reason: "peer_deletion_timedout", reason_data: "deadbeef" } });
    expect(ctx.total).toBe(0);
  });

  test("THERMAL_EVENT: temperature, the resume flag, the level by name", () => {
    const { info, ctx } = decode(OUI_QCA, 168, HEX.thermal);
    expect(info).toEqual({ ...QCA, subcmd: 168, subcmd_name: "thermal_event", data: { temperature: 85, resume_complete: true, level: "severe" } });
    expect(ctx.total).toBe(0);
  });

  test("ROAM_EVENTS: bit names, a candidate array, a frequency list", () => {
    const { info, ctx } = decode(OUI_QCA, 203, HEX.roam_events);
    expect(info.subcmd_name).toBe("roam_events");
    expect(info.data).toEqual({
      type: ["trigger_reason", "fail_reason"],
      trigger_reason: ["poor_rssi"],
      candidates: [{ bssid: "02:00:00:00:01:00", rssi: -70, freq: 5180, fail_reason: "no_ap_found" }],
      scan_freqs: [2412, 5180],
    });
    expect(ctx.total).toBe(0);
  });

  test("ROAM_SCAN_EVENT", () => {
    expect(decode(OUI_QCA, 172, HEX.roam_scan).info.data).toEqual({ event_type: "trigger_event", trigger_reason: "low_rssi" });
  });

  test("KEY_MGMT_ROAM_AUTH: keys by length only, the status with iw's text", () => {
    const { info, ctx } = decode(OUI_QCA, 51, HEX.roam_auth);
    expect(info.subcmd_name).toBe("key_mgmt_roam_auth");
    expect(info.data).toEqual({
      bssid: "02:00:00:00:01:00", req_ie: "000474657374", resp_ie: "010182", authorized: 1, key_replay_ctr: "0100000000000000",
      ptk_kck: "<redacted, 16 bytes>", ptk_kek: "<redacted, 16 bytes>", status: 0, reason: "poor_rssi", status_text: "Successful",
    });
    expect(JSON.stringify(info)).not.toContain("aaaa");
    expect(ctx.total).toBe(0);
  });

  test("GET_STA_INFO: flags, enums, u64 counters, an array of MCS counts", () => {
    const { info, ctx } = decode(OUI_QCA, 186, HEX.sta_info);
    expect(info.data).toEqual({
      mac: "02:00:00:00:00:01", flags: ["ampdu", "rx_stbc"], guard_interval: "400_ns", rx_beacon_count: 1234,
      rx_ucast_data_good_fcs_count: 987654321, driver_disconnect_reason: "external_roam_failure", roam_trigger_reason: ["beacon_miss"],
      mcs_pkt_count: [{ mcs: 7, tx_packets: 100, rx_packets: 200 }, { mcs: 9, tx_packets: 5, rx_packets: 6 }], tx_nss: 2,
    });
    expect(ctx.total).toBe(0);
  });

  test("LL_STATS_IFACE_RESULTS: the results set nested in itself (per-AC entries)", () => {
    const { info, ctx } = decode(OUI_QCA, 18, HEX.ll_stats_iface);
    expect(info.subcmd_name).toBe("ll_stats_iface_results");
    expect(info.data).toEqual({
      req_id: 7, type: "iface", beacon_rx: 1500, mac_addr: "02:00:00:00:00:01", state: 4, ssid: "lab", bssid: "02:00:00:00:01:00", num_peers: 1,
      wmm: [{ ac: 0, tx_mpdu: 100, rx_mpdu: 200 }, { ac: 1, tx_mpdu: 10, rx_mpdu: 20 }], more_data: 0,
    });
    expect(ctx.total).toBe(0);
  });

  test("LL_STATS_RADIO_RESULTS and LL_STATS_PEERS_RESULTS share the set: channels, peers, rates", () => {
    const radio = decode(OUI_QCA, 17, HEX.ll_stats_radio);
    expect(radio.info.subcmd_name).toBe("ll_stats_radio_results");
    expect(radio.info.data).toEqual({
      req_id: 7, type: "radio", num_radios: 1, radio_id: 0, on_time: 60000, tx_time: 1200, rx_time: 3400, num_channels: 1,
      channels: [{ width: 2, center_freq: 5180, center_freq0: 5210, channel_on_time: 59000, cca_busy_time: 8000 }], more_data: 0,
    });
    const peers = decode(OUI_QCA, 19, HEX.ll_stats_peers);
    expect(peers.info.subcmd_name).toBe("ll_stats_peers_results");
    expect(peers.info.data).toEqual({
      req_id: 7, type: "peers", num_peers: 1,
      peers: [{
        peer_type: 1, peer_mac: "02:00:00:00:01:00", num_rates: 1,
        rates: [{ preamble: 3, nss: 1, bw: 2, mcs_index: 9, bit_rate: 8667, rate_tx_mpdu: 5000 }],
      }],
      more_data: 0,
    });
    expect(radio.ctx.total + peers.ctx.total).toBe(0);
  });

  test("LL_STATS_EXT: integers of the width sent, u64 report time", () => {
    const { info, ctx } = decode(OUI_QCA, 127, HEX.ll_stats_ext);
    expect(info.data).toEqual({ event_mode: 1, peer_mac: "02:00:00:00:00:02", tx_msdu: 42, tx_mpdu: 4200, report_time: 1767225600000, measurement_time: 1000000 });
    expect(ctx.total).toBe(0);
  });

  test("ASYNC_GET_STATION: nl80211's station attributes inside the response", () => {
    const { info, ctx } = decode(OUI_QCA, 243, HEX.async_station);
    expect(info.data).toEqual({
      response: {
        mac: "02:00:00:00:00:02",
        sta_info: {
          inactive_time: 120, rx_bytes: 1000, tx_bytes: 2000, signal: -55,
          tx_bitrate: { bitrate: 1200, bitrate32: 1200, he_mcs: 11, he_nss: 2 }, rx_bytes64: 1000, tx_bytes64: 2000,
        },
      },
    });
    expect(ctx.total).toBe(0);
  });

  test("a QCA subcommand without a set is named, its data kept as hex", () => {
    const { info, ctx } = decode(OUI_QCA, 13, "08 00 03 00 01 02 03 04");
    expect(info).toEqual({ ...QCA, subcmd: 13, subcmd_name: "stats_ext", data_hex: "0800030001020304" });
    expect(ctx.total).toBe(0);
  });

  test("no vendor data: identity only", () => {
    expect(decode(OUI_QCA, 157, undefined).info).toEqual({ ...QCA, subcmd: 157, subcmd_name: "hang" });
  });
});

describe("other vendors", () => {
  test("a known OUI is named, its data kept as hex", () => {
    const { info, ctx } = decode(0x001735, 0x24, "04 00 01 00");
    expect(info).toEqual({ oui: 0x001735, oui_hex: "00:17:35", vendor: "Intel", subcmd: 0x24, data_hex: "04000100" });
    expect(ctx.total).toBe(0);
  });

  test("an unknown OUI: numbers only", () => {
    expect(decode(0xabcdef, 7, "").info).toEqual({ oui: 0xabcdef, oui_hex: "ab:cd:ef", subcmd: 7, data_hex: "" });
  });
});

describe("malformed vendor data: an error and the bytes, never a throw", () => {
  test("an attribute longer than the data", () => {
    const { info, ctx } = decode(OUI_QCA, 157, "08 00 01 00 02 00");
    expect(info.data_hex).toBe("080001000200");
    expect(info.subcmd_name).toBe("hang");
    expect(ctx.counts.bad_attr_len).toBe(1);
    expect(ctx.problems[0]).toContain("nl80211 vendor QCA subcmd hang (00:13:74/157), vendor data at bytes 0..6");
    expect(ctx.problems[0]).toContain("malformed attribute at byte 0");
  });

  test("a value too short for its type", () => {
    const { info, ctx } = decode(OUI_QCA, 168, "06 00 01 00 55 00 00 00");
    expect(info.data).toEqual({});
    expect(info.data_hex).toBe("0600010055000000");
    expect(ctx.problems[0]).toContain("attribute temperature (1) has 2 bytes, needs 4");
  });

  test("garbage: the decoded part is kept beside the hex", () => {
    const { info, ctx } = decode(OUI_QCA, 1, "08 00 08 00 2b 00 00 00 ff ff ff");
    expect(info.data).toEqual({ test: 43 });
    expect(info.data_hex).toBe("080008002b000000ffffff");
    expect(ctx.total).toBe(1);
  });

  test("a broken nest inside a nest", () => {
    const { info, ctx } = decode(OUI_QCA, 203, "0c 00 06 80 08 00 01 80 ff ff 00 00");
    expect(info.data_hex).toBe("0c00068008000180ffff0000");
    expect(ctx.problems.join("\n")).toContain("nl80211 vendor QCA subcmd roam_events");
  });

  test("bounds outside the buffer", () => {
    const ctx = new BasicContext(new Names());
    const b = bytes("08 00 08 00 2b 00 00 00");
    let info: VendorInfo | undefined;
    expect(() => { info = decodeVendor(OUI_QCA, 1, dvOf(b), 4, 40, ctx); }).not.toThrow();
    expect(info!.data_hex).toBe("2b000000");
    expect(ctx.counts.truncated).toBe(1);
    expect(ctx.problems[0]).toContain("vendor data at bytes 4..40 is outside the 8-byte buffer");
  });

  test("random bytes for every decoded subcommand never throw", () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (const sub of [1, 17, 18, 19, 51, 127, 157, 168, 172, 186, 203, 243]) {
      expect(decode(OUI_QCA, sub, undefined).info.subcmd_name).toBeDefined();
      for (let i = 0; i < 200; i++) {
        const b = Uint8Array.from({ length: rnd() % 64 }, rnd);
        // a plausible header now and then, so the walk gets past the first attribute
        if (b.length >= 4 && i % 2) { b[0] = Math.min(b.length, 4 + (b[0]! % 12)); b[1] = 0; }
        const ctx = new BasicContext(new Names());
        expect(() => decodeVendor(OUI_QCA, sub, dvOf(b), 0, b.length, ctx)).not.toThrow();
      }
    }
  });
});

describe("generated tables", () => {
  test("QCA subcommands: every entry of the header, named without the prefix", () => {
    expect(QCA_VENDOR_SOURCE.subcmds).toBe(246);
    expect(Object.keys(QCA_SUBCMDS).length).toBe(QCA_VENDOR_SOURCE.subcmds);
    expect(QCA_SUBCMDS[1]).toBe("test");
    expect(QCA_SUBCMDS[51]).toBe("key_mgmt_roam_auth");
    expect(QCA_SUBCMDS[243]).toBe("async_get_station");
    expect(Object.values(QCA_SUBCMDS).every((n) => /^[a-z0-9_]+$/.test(n))).toBe(true);
  });

  test("enum values: implicit increments, and no AFTER_LAST / MAX sentinels", () => {
    // ROAM_AUTH counts up from BSSID = 1 without explicit values until PMK = 11
    expect(QCA_ENUMS.qca_wlan_vendor_attr_roam_auth[9]).toBe("QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_STATUS");
    expect(QCA_ENUMS.qca_wlan_vendor_attr_roam_auth[10]).toBe("QCA_WLAN_VENDOR_ATTR_ROAM_AUTH_RETAIN_CONNECTION");
    // LL_STATS_EXT is implicit throughout, ending in _LAST / _MAX = _LAST - 1
    expect(QCA_ENUMS.qca_wlan_vendor_attr_ll_stats_ext[69]).toBe("QCA_WLAN_VENDOR_ATTR_LL_STATS_EXT_REPORT_TIME");
    // a real attribute whose name ends in _MAX stays
    expect(QCA_ENUMS.qca_wlan_vendor_attr_ll_stats_results[30]).toBe("QCA_WLAN_VENDOR_ATTR_LL_STATS_WMM_AC_CONTENTION_TIME_MAX");
    for (const table of Object.values(QCA_ENUMS)) {
      for (const n of Object.values(table)) expect(n).not.toMatch(/_AFTER_LAST$|_EXT_LAST$|_ATTR_MAX$|_INFO_MAX$|_HANG_MAX$|_EVENT_MAX$/);
    }
    expect(QCA_ENUMS.qca_vendor_roam_triggers[1 << 14]).toBe("QCA_ROAM_TRIGGER_REASON_BT_ACTIVITY");
  });

  test("IEEE 802.11 codes with iw's texts", () => {
    expect(IEEE80211_SOURCE.version).toBe("v5.19");
    expect(Object.keys(REASON_CODES).length).toBe(38);
    expect(Object.keys(STATUS_CODES).length).toBe(47);
    expect(REASON_CODES[2]).toBe("Previous authentication no longer valid");
    expect(STATUS_CODES[0]).toBe("Successful");
  });
});

/**
 * The generators run on the sources they were made from, twice, into a temporary directory; both
 * runs must equal the committed files. The sources are not part of the repository: the test uses
 * them when they are where the generation left them (or where QCA_VENDOR_H / IW_SOURCE point).
 */
describe("generators are repeatable", () => {
  const QCA_H = process.env.QCA_VENDOR_H ?? "/tmp/nlmon-vendor-src/qca-vendor.h";
  const IW_DIR = process.env.IW_SOURCE ?? "/tmp/nlmon-vendor-src/iw-v5.19";

  function runTwice(args: (out: string) => string[], committed: string) {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-gen-"));
    try {
      const outs = [join(dir, "a.ts"), join(dir, "b.ts")];
      for (const out of outs) {
        const r = Bun.spawnSync([BUN, ...args(out)], { cwd: ROOT, stderr: "pipe" });
        expect(r.exitCode).toBe(0);
      }
      const [a, b] = outs.map((o) => readFileSync(o, "utf8"));
      expect(a).toBe(b!);
      expect(a).toBe(readFileSync(join(ROOT, committed), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test.skipIf(!existsSync(QCA_H))(`gen-qca-vendor.ts (needs hostap's qca-vendor.h at commit ${QCA_VENDOR_SOURCE.commit.slice(0, 12)} in ${QCA_H}; skipped when absent)`, () => {
    // the header's own count of subcommands, read independently of the generator
    const src = readFileSync(QCA_H, "utf8");
    const body = /enum qca_nl80211_vendor_subcmds \{([\s\S]*?)\n\};/.exec(src)![1]!;
    expect([...body.matchAll(/^\s*QCA_NL80211_VENDOR_SUBCMD_\w+\s*=\s*\d+,/gm)].length).toBe(QCA_VENDOR_SOURCE.subcmds);
    runTwice((out) => ["scripts/gen-qca-vendor.ts", QCA_H, QCA_VENDOR_SOURCE.commit, QCA_VENDOR_SOURCE.date, `--out=${out}`], "src/families/nl80211/qca-vendor.gen.ts");
  });

  test.skipIf(!existsSync(join(IW_DIR, "reason.c")))(`gen-ieee80211.ts (needs iw ${IEEE80211_SOURCE.version}'s reason.c and status.c in ${IW_DIR}; skipped when absent)`, () => {
    runTwice(
      (out) => ["scripts/gen-ieee80211.ts", join(IW_DIR, "util.c"), IEEE80211_SOURCE.version, IEEE80211_SOURCE.date, `--commit=${IEEE80211_SOURCE.commit}`, `--out=${out}`],
      "src/families/nl80211/ieee80211.gen.ts",
    );
  });
});
