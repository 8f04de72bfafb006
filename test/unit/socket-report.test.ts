// The start-up lines about sockets name each socket's protocol and its own receive buffer, and
// say so when none is open yet, instead of "receive buffer  bytes" or "65536,65536 bytes".
import { describe, expect, test } from "bun:test";
import { socketReport } from "../../src/monitor/report.ts";
import { NETLINK_GENERIC, NETLINK_ROUTE } from "../../src/uapi/linux.gen.ts";

describe("socket report", () => {
  test("one line per socket, with its protocol; caches go with the route socket", () => {
    const r = socketReport("legacy", undefined, [
      { protocol: NETLINK_ROUTE, rcvbuf: 2 * 65536, forced: true },
      { protocol: NETLINK_GENERIC, rcvbuf: 2 * 65536, forced: false },
    ], 65536, ["link", "addr"]);
    expect(r).toEqual({
      info: [
        "NETLINK_ROUTE: backend legacy, receive buffer 65536 bytes (forced), caches: link addr",
        "NETLINK_GENERIC: backend legacy, receive buffer 65536 bytes",
      ],
      warn: [],
    });
  });

  test("no socket open yet (the library API before a protocol is enabled)", () => {
    const r = socketReport("libnl", "libnl-3.so.200 + libnl-genl-3.so.200", [], 33554432, ["link"]);
    expect(r).toEqual({ info: ["backend libnl (libnl-3.so.200 + libnl-genl-3.so.200): no netlink socket open yet"], warn: [] });
  });

  test("a smaller buffer than configured is a warning naming the socket", () => {
    const r = socketReport("libnl", "libnl-tiny.so", [{ protocol: NETLINK_GENERIC, rcvbuf: 2 * 212992, forced: false }], 33554432);
    expect(r.warn).toEqual([
      "NETLINK_GENERIC: receive buffer is 212992 bytes, not the 33554432 configured: SO_RCVBUFFORCE needs CAP_NET_ADMIN (net.core.rmem_max caps it otherwise); bursts may overrun",
    ]);
    expect(r.info).toEqual(["NETLINK_GENERIC: backend libnl (libnl-tiny.so), receive buffer 212992 bytes"]);
  });
});
