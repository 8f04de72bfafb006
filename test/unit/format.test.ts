// Text forms: IPv6 must read exactly as glibc's inet_ntop prints it (what iproute2 shows), checked
// against a small C program when a compiler is present and against fixed strings always.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cstring, hex, ipAddr, ipv4, ipv6, isoNs, lladdr } from "../../src/codec/format.ts";
import { dv } from "../fixtures/load.ts";

const CC = ["cc", "gcc", "clang"].map((c) => Bun.which(c)).find((p) => p !== null) ?? undefined;
if (CC === undefined) console.warn("format.test: no C compiler; skipping the inet_ntop comparison");

const ADDRS = [
  "::", "::1", "::ffff:1.2.3.4", "::1.2.3.4", "2001:db8::1", "1:0:0:1:0:0:0:1", "fe80::1:0:0:1",
  "1::", "1:0:0:2::3", "1:0:1:0:1:0:1:0", "2001:db8:0:1:1:1:1:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  "::ffff:0.0.0.0", "::0.1.0.0", "::ffff", "::1:0:0", "0:0:1::", "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4",
  "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "fe80::", "ff02::1:ff00:1", "0:0:0:0:0:1:0:0", "1:2:3:4:5:6:0:0",
];

/** Words → the 16 bytes; a tiny independent parser of the text above (no IPv4 tail) for the fixed cases */
function bytes(words: number[]): Uint8Array {
  const b = new Uint8Array(16);
  words.forEach((w, i) => { b[2 * i] = w >> 8; b[2 * i + 1] = w & 0xff; });
  return b;
}

describe("ipv6 text", () => {
  test.skipIf(CC === undefined)("equals glibc inet_ntop for each address (pton → bytes → both formatters)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-ntop-"));
    try {
      const src = join(dir, "ntop.c");
      writeFileSync(src, `#include <arpa/inet.h>
#include <stdio.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    unsigned char a[16]; char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, argv[i], a) != 1) { printf("BAD %s\\n", argv[i]); continue; }
    for (int j = 0; j < 16; j++) printf("%02x", a[j]);
    printf(" %s\\n", inet_ntop(AF_INET6, a, out, sizeof out));
  }
  return 0;
}
`);
      const cc = Bun.spawnSync([CC!, "-o", join(dir, "ntop"), src], { stderr: "pipe" });
      expect(cc.exitCode, cc.stderr.toString()).toBe(0);
      const run = Bun.spawnSync([join(dir, "ntop"), ...ADDRS], { stdout: "pipe" });
      const lines = run.stdout.toString().trim().split("\n");
      expect(lines).toHaveLength(ADDRS.length);
      for (const line of lines) {
        const [h, glibc] = line.split(" ");
        expect(h).not.toBe("BAD");
        const b = Uint8Array.from(h!.match(/../g)!.map((x) => parseInt(x, 16)));
        expect(ipv6(dv(b), 0)).toBe(glibc!);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("fixed cases, including the IPv4 forms and the first-longest-run rule", () => {
    const cases: [number[], string][] = [
      [[0, 0, 0, 0, 0, 0, 0, 0], "::"],
      [[0, 0, 0, 0, 0, 0, 0, 1], "::1"],
      [[0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], "::ffff:1.2.3.4"],
      [[0, 0, 0, 0, 0, 0, 0x0102, 0x0304], "::1.2.3.4"],
      [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"],
      [[1, 0, 0, 1, 0, 0, 0, 1], "1:0:0:1::1"],
      [[0xfe80, 0, 0, 0, 1, 0, 0, 1], "fe80::1:0:0:1"],
      [[1, 0, 0, 2, 0, 0, 0, 3], "1:0:0:2::3"],
      [[1, 0, 1, 0, 1, 0, 1, 0], "1:0:1:0:1:0:1:0"],
      [[1, 0, 0, 0, 0, 0, 0, 0], "1::"],
      [[0, 0, 0, 0, 0, 0, 1, 0], "::0.1.0.0"],
      [[0, 0, 0, 0, 0, 0, 0, 0xffff], "::ffff"],
      [[0, 0, 0, 0, 0, 0xffff, 0, 0], "::ffff:0.0.0.0"],
      [[0, 0, 0, 0, 1, 0xffff, 0x0102, 0x0304], "::1:ffff:102:304"],
      [[0x64, 0xff9b, 0, 0, 0, 0, 0x0102, 0x0304], "64:ff9b::102:304"],
    ];
    for (const [w, s] of cases) expect(ipv6(dv(bytes(w)), 0)).toBe(s);
  });

  test("reads at an offset inside a larger buffer", () => {
    const b = new Uint8Array(20);
    b.set(bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), 4);
    expect(ipv6(new DataView(b.buffer, 0), 4)).toBe("2001:db8::1");
  });
});

describe("other text forms", () => {
  test("ipv4, ipAddr by length, lladdr", () => {
    const b = Uint8Array.of(192, 0, 2, 255);
    expect(ipv4(dv(b), 0)).toBe("192.0.2.255");
    expect(ipAddr(dv(b), 0, 4)).toBe("192.0.2.255");
    expect(ipAddr(dv(bytes([0, 0, 0, 0, 0, 0, 0, 1])), 0, 16)).toBe("::1");
    const mac = Uint8Array.of(0x02, 0x00, 0x5e, 0x0a, 0xff, 0x09);
    expect(lladdr(dv(mac), 0, 6)).toBe("02:00:5e:0a:ff:09");
    expect(ipAddr(dv(mac), 0, 6)).toBe("02:00:5e:0a:ff:09");
    expect(lladdr(dv(mac), 0, 0)).toBe("");
  });

  test("hex truncates with a count", () => {
    expect(hex(Uint8Array.of(0, 1, 0xab))).toBe("0001ab");
    expect(hex(Uint8Array.of(1, 2, 3, 4), 2)).toBe("0102…(+2 bytes)");
  });

  test("cstring stops at NUL or at the attribute's end, and survives bad UTF-8", () => {
    const b = Uint8Array.of(0x65, 0x74, 0x68, 0x30, 0, 0x78);
    expect(cstring(dv(b), 0, 6)).toBe("eth0");
    expect(cstring(dv(b), 0, 3)).toBe("eth");
    expect(cstring(dv(Uint8Array.of(0xff, 0x41)), 0, 2)).toBe("\ufffdA");
  });

  test("isoNs: nine fractional digits, UTC", () => {
    expect(isoNs(0n)).toBe("1970-01-01T00:00:00.000000000Z");
    expect(isoNs(1_700_000_000_123_456_789n)).toBe("2023-11-14T22:13:20.123456789Z");
    expect(isoNs(1_000_000_001n)).toBe("1970-01-01T00:00:01.000000001Z");
    expect(isoNs(951_782_400_999_999_999n)).toBe("2000-02-29T00:00:00.999999999Z");
  });
});

test("a link-layer address longer than any real one is shown bounded, with the rest counted", () => {
  const b = new Uint8Array(70000).fill(0xab);
  const s = lladdr(new DataView(b.buffer), 0, b.length);
  expect(s.startsWith("ab:ab:")).toBe(true);
  expect(s.endsWith(`…(+${70000 - 64} bytes)`)).toBe(true);
  expect(s.length).toBeLessThan(300);
});
