/**
 * nl80211 seed messages for the fuzzer and the decoder's tests, from a capture of the Wi-Fi VM
 * (make test-vm leaves it: tcpdump on an nlmon device while hostapd and wpa_supplicant associate
 * over mac80211_hwsim). Writes into test/fixtures/genl/ the nlctrl reply that names nl80211's id
 * in that kernel, and the first notification of each nl80211 command (kernel to user, seq and
 * port 0). Re-run after changing the VM's kernel:
 *
 *   node_modules/.bin/bun test/fuzz/capture-nl80211.ts /tmp/nlmon-vm-out/capture.pcap
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { hex } from "../../src/codec/format.ts";
import { readHeader } from "../../src/codec/nlmsg.ts";
import { newCaptureStats, readCapture } from "../../src/export/pcap-read.ts";
import { walkAttrs } from "../../src/codec/attr.ts";
import { cstring } from "../../src/codec/format.ts";
import { CMD } from "../../src/families/nl80211/names.ts";
import { CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, GENL_ID_CTRL, NETLINK_GENERIC, NLM_F_REQUEST, OFFSETOF, SIZEOF } from "../../src/uapi/linux.gen.ts";

const OUT = resolve(import.meta.dir, "../fixtures/genl");
const file = process.argv[2];
if (!file) {
  console.error("usage: bun test/fuzz/capture-nl80211.ts CAPTURE.pcap");
  process.exit(2);
}
let familyId: number | undefined;
const seen = new Set<number>();
let written = 0;
for (const m of readCapture(new Uint8Array(readFileSync(file)), newCaptureStats())) {
  if (m.protocol !== NETLINK_GENERIC) continue;
  const dv = new DataView(m.message.buffer, m.message.byteOffset, m.message.byteLength);
  const h = readHeader(dv, 0);
  if (h.flags & NLM_F_REQUEST) continue;
  if (h.type === GENL_ID_CTRL && familyId === undefined) {
    let name: string | undefined;
    let id: number | undefined;
    walkAttrs(dv, SIZEOF.nlmsghdr + SIZEOF.genlmsghdr, m.message.length, (t, o, l) => {
      if (t === CTRL_ATTR_FAMILY_NAME) name = cstring(dv, o, l);
      else if (t === CTRL_ATTR_FAMILY_ID && l >= 2) id = dv.getUint16(o, true);
    });
    if (name === "nl80211" && id !== undefined) {
      familyId = id;
      writeFileSync(resolve(OUT, "ctrl-family-nl80211.hex"), hex(m.message, Infinity) + "\n");
      written++;
    }
    continue;
  }
  if (familyId === undefined || h.type !== familyId || h.seq !== 0 || h.pid !== 0) continue;
  const cmd = dv.getUint8(SIZEOF.nlmsghdr + OFFSETOF["genlmsghdr.cmd"]);
  if (seen.has(cmd)) continue;
  seen.add(cmd);
  writeFileSync(resolve(OUT, `nl80211-${CMD[cmd] ?? cmd}.hex`), hex(m.message, Infinity) + "\n");
  written++;
}
console.log(`capture-nl80211: ${written} messages (nl80211 is family ${familyId}; commands: ${[...seen].map((c) => CMD[c] ?? c).join(", ")})`);
