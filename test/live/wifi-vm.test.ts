/**
 * The Wi-Fi half, end to end: Debian's kernel under qemu with mac80211_hwsim, hostapd and
 * wpa_supplicant associating, nlmon on both backends beside `iw event` (scripts/vm/, make test-vm).
 * test/vm/compare.ts decides: every event iw printed, matched by nlmon field by field, the
 * capture's replay equal to the live stream, --dump-events equal to iw dev / station dump / list.
 */
import { expect, test } from "bun:test";
import { ensureBinary, ROOT } from "./lib.ts";

test("make test-vm: nl80211 as iw event shows it, in a VM with mac80211_hwsim", () => {
  ensureBinary();
  const r = Bun.spawnSync(["bash", "scripts/vm/test.sh"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 400_000 });
  const out = r.stdout.toString();
  const last = out.trim().split("\n").pop() ?? "";
  console.log(last);
  if (r.exitCode !== 0) console.log(out.split("\n").filter((l) => l.startsWith("DIFF") || l.startsWith("FAIL")).slice(0, 20).join("\n"), r.stderr.toString().slice(-2000));
  expect(last).toStartWith("test-vm: PASS");
  // the scenario's events: two associations, scans, a regulatory change, vendor events, teardown
  const iw = Number(/(\d+) iw events/.exec(last)?.[1] ?? 0);
  expect(iw).toBeGreaterThanOrEqual(40);
  for (const b of ["libnl", "legacy"]) expect(last).toContain(`${b}: ${iw}/${iw} matched (0 lost, 0 extra, 0 differing`);
  expect(r.exitCode).toBe(0);
}, 420_000);
