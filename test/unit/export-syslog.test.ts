import { describe, expect, test } from "bun:test";
import type { NlEvent, PipelineEvent } from "../../src/event/model.ts";
import {
  facilityCode, fitMessage, formatSyslog, rfc3164Time, rfc5424Time, severityOf, Severity, type FormatContext,
} from "../../src/export/syslog.ts";

function ev(type: NlEvent["type"], msgTypeName: string, extra: Partial<NlEvent["netlink"]> = {}): NlEvent {
  return {
    type, protocol: 0, msg_type: 16,
    netlink: { protocol: 0, protocol_name: "NETLINK_ROUTE", msg_type: 16, msg_type_name: msgTypeName, msg_flags: 0, ...extra },
  };
}

const link = (flags: string[], operstate?: string) =>
  ev("link", "RTM_NEWLINK", { link: { ifindex: 2, ifname: "eth0", flags, flags_raw: 0, operstate } });

describe("severity", () => {
  test("changes that take something away are notices, errors warn, the rest is info", () => {
    expect(severityOf(link(["UP", "LOWER_UP"], "UP"))).toBe(Severity.info);
    expect(severityOf(link(["BROADCAST"], "DOWN"))).toBe(Severity.notice);
    expect(severityOf(link(["UP"], "LOWERLAYERDOWN"))).toBe(Severity.notice);
    expect(severityOf(ev("link", "RTM_DELLINK"))).toBe(Severity.notice);
    expect(severityOf(ev("route", "RTM_DELROUTE"))).toBe(Severity.notice);
    expect(severityOf(ev("route", "RTM_NEWROUTE"))).toBe(Severity.info);
    expect(severityOf(ev("addr", "RTM_DELADDR"))).toBe(Severity.notice);
    expect(severityOf(ev("neigh", "RTM_DELNEIGH"))).toBe(Severity.info);
    expect(severityOf(ev("error", "NLMSG_ERROR"))).toBe(Severity.warning);
  });
  test("an event's own severity wins", () => {
    expect(severityOf({ ...ev("route", "RTM_NEWROUTE"), severity: 2 } as NlEvent)).toBe(2);
    expect(severityOf({ ...ev("route", "RTM_NEWROUTE"), severity: 99 } as NlEvent)).toBe(Severity.info);
  });
  test("facility names", () => {
    expect(facilityCode("kern")).toBe(0);
    expect(facilityCode("daemon")).toBe(3);
    expect(facilityCode("local7")).toBe(23);
    expect(facilityCode(16)).toBe(16);
    expect(() => facilityCode("nosuch")).toThrow(/facility/);
  });
});

describe("timestamps", () => {
  test("RFC 5424 keeps microseconds in UTC", () => {
    expect(rfc5424Time(1_700_000_000_123_456_789n)).toBe("2023-11-14T22:13:20.123456Z");
    expect(rfc5424Time(1_700_000_000_000_001_000n)).toBe("2023-11-14T22:13:20.000001Z");
  });
  test("RFC 3164 pads the day with a space", () => {
    const d = new Date(2024, 0, 5, 3, 4, 9);
    expect(rfc3164Time(d.getTime())).toBe("Jan  5 03:04:09");
    const d2 = new Date(2024, 11, 25, 13, 14, 15);
    expect(rfc3164Time(d2.getTime())).toBe("Dec 25 13:14:15");
  });
});

const ctx = (over: Partial<FormatContext> = {}): FormatContext => ({
  format: "rfc5424", facility: 3, hostname: "host.example.org", appName: "nlmon", procId: "4242",
  maxSize: 2048, omitHostname3164: false, ...over,
});
const pev = (e: NlEvent): PipelineEvent => ({ event: e, tsNs: 1_700_000_000_123_456_789n, recvMono: 0 });
const dec = new TextDecoder();

describe("format", () => {
  test("RFC 5424 header: PRI, version, time, host, app, procid, msgid = type, no SD", () => {
    const e = ev("route", "RTM_DELROUTE");
    const line = JSON.stringify(e);
    const s = dec.decode(formatSyslog(ctx(), pev(e), line));
    expect(s).toBe(`<29>1 2023-11-14T22:13:20.123456Z host.example.org nlmon 4242 route - ${line}`);
  });
  test("RFC 3164 header: short hostname, tag[pid]", () => {
    const e = ev("route", "RTM_NEWROUTE");
    const line = JSON.stringify(e);
    const s = dec.decode(formatSyslog(ctx({ format: "rfc3164", facility: 16 }), pev(e), line));
    expect(s).toMatch(/^<134>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d host nlmon\[4242\]: /);
    expect(s.endsWith(line)).toBe(true);
    const local = dec.decode(formatSyslog(ctx({ format: "rfc3164", omitHostname3164: true }), pev(e), line));
    expect(local).toMatch(/^<30>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d nlmon\[4242\]: \{/);
  });
  test("header fields are sanitised", () => {
    const e = ev("link", "RTM_NEWLINK");
    const s = dec.decode(formatSyslog(ctx({ hostname: "", appName: "my app" }), pev(e), "{}"));
    expect(s).toMatch(/^<\d+>1 \S+ - my_app 4242 link - \{\}$/);
  });
});

// events (JSON objects) are cut by whole fields: test/unit/syslog-truncate.test.ts
describe("truncation of text that is not a JSON object", () => {
  const enc = new TextEncoder();
  test("short messages pass unchanged", () => {
    expect(dec.decode(fitMessage(enc.encode("H: "), enc.encode("body"), 100))).toBe("H: body");
  });
  test("long text is cut to the limit with a marker telling how much went", () => {
    const body = "x".repeat(1000);
    for (const max of [100, 200, 999, 1002]) {
      const out = fitMessage(enc.encode("HDR "), enc.encode(body), max);
      expect(out.length).toBeLessThanOrEqual(max);
      const s = dec.decode(out);
      const m = /…\[truncated (\d+) bytes\]$/.exec(s);
      expect(m).not.toBeNull();
      const kept = s.length - 4 - m![0].length;
      expect(kept + Number(m![1])).toBe(1000);
    }
  });
  test("the cut never splits a UTF-8 character", () => {
    const body = enc.encode("é".repeat(200));
    for (let max = 60; max < 80; max++) {
      const out = fitMessage(enc.encode("H "), body, max);
      expect(out.length).toBeLessThanOrEqual(max);
      const s = new TextDecoder("utf-8", { fatal: true }).decode(out);
      const m = /^H ((?:é)*)…\[truncated (\d+) bytes\]$/.exec(s)!;
      expect(m).not.toBeNull();
      expect(enc.encode(m[1]!).length + Number(m[2])).toBe(400);
    }
  });
});
