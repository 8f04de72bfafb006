/**
 * Captures NETLINK_GENERIC seed messages for the fuzzer into test/fixtures/genl/ (one message per
 * .hex file): nlctrl's family dump (ops, multicast groups), its policy dumps (nested three deep),
 * and ethtool's notifications for a veth whose settings change. Re-run after a kernel upgrade:
 *
 *   sudo node_modules/.bin/bun test/fuzz/capture-genl.ts
 *
 * The outer process makes a scratch network namespace (for the veth) and re-runs itself inside it.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AttrWriter } from "../../src/codec/attr.ts";
import { hex } from "../../src/codec/format.ts";
import { buildMessage, walkMessages } from "../../src/codec/nlmsg.ts";
import { WorkerBackend } from "../../src/backend/host.ts";
import { genlRegistry } from "../../src/families/genl/index.ts";
import { loadGenlFamilies } from "../../src/monitor/genl.ts";
import {
  CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, CTRL_CMD_GETPOLICY, GENL_ID_CTRL, NETLINK_GENERIC, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE,
  OFFSETOF, SIZEOF,
} from "../../src/uapi/linux.gen.ts";

const OUT = resolve(import.meta.dir, "../fixtures/genl");

function sh(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
}

function outer(): number {
  if (process.getuid?.() !== 0) {
    console.error("capture-genl: needs root (a network namespace)");
    return 1;
  }
  const ns = `nlmon-genl-${process.pid}`;
  sh(["ip", "netns", "add", ns]);
  try {
    return Bun.spawnSync(["ip", "netns", "exec", ns, process.execPath, import.meta.path, "--inner"], { stdout: "inherit", stderr: "inherit" }).exitCode ?? 1;
  } finally {
    Bun.spawnSync(["ip", "netns", "del", ns]);
  }
}

function ctrlDump(cmd: number, attrs: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new Uint8Array(SIZEOF.genlmsghdr + attrs.length);
  body[OFFSETOF["genlmsghdr.cmd"]] = cmd;
  // nlctrl does not check the version; 1 is what its first revision declared
  body[OFFSETOF["genlmsghdr.version"]] = 1;
  body.set(attrs, SIZEOF.genlmsghdr);
  return buildMessage(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 0, body);
}

const policyDump = (family: string) => ctrlDump(CTRL_CMD_GETPOLICY, new AttrWriter().string(CTRL_ATTR_FAMILY_NAME, family).finish());

function messages(datagrams: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of datagrams) {
    walkMessages(new DataView(d.buffer, d.byteOffset, d.byteLength), 0, d.length, {
      message: (hdr, _dv, _b, _e, off) => { if (hdr.type !== NLMSG_DONE) out.push(d.slice(off, off + hdr.len)); },
      framingError: () => {},
    });
  }
  return out;
}

async function inner(): Promise<number> {
  const backend = new WorkerBackend({ driver: "legacy" });
  const families = await loadGenlFamilies(backend);
  const ethtool = families.get("ethtool");
  const seen: Uint8Array[] = [];
  if (ethtool?.groups.monitor !== undefined) {
    await backend.start([{ protocol: NETLINK_GENERIC, groups: [ethtool.groups.monitor], rcvbuf: 1 << 20, sndbuf: 32768, maxMessageSize: 65536 }], (ev) => {
      if (ev.kind !== "batch") return;
      const b = ev.batch;
      for (let i = 0; i + 1 < b.offsets.length; i++) seen.push(b.data.slice(b.offsets[i]!, b.offsets[i + 1]!));
    });
    sh(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    for (const args of [["-K", "v0", "tso", "off"], ["-L", "v0", "tx", "1"], ["-G", "v0", "tx", "128"], ["-s", "v0", "msglvl", "1"]]) {
      Bun.spawnSync(["ethtool", ...args], { stdout: "ignore", stderr: "ignore" });
    }
    await Bun.sleep(500);
  }
  const fam = messages(await backend.dump(NETLINK_GENERIC, [ctrlDump(CTRL_CMD_GETFAMILY)]));
  const pol = messages(await backend.dump(NETLINK_GENERIC, ["nlctrl", "ethtool"].map(policyDump)));
  const ethtoolPolicy = messages(await backend.dump(NETLINK_GENERIC, [policyDump("ethtool")]));
  await backend.stop();

  mkdirSync(OUT, { recursive: true });
  // only what this script writes: the folder also holds nl80211 and taskstats captures
  for (const f of readdirSync(OUT)) if (/^(ctrl-newfamily-|ctrl-policy-|ethtool-ntf-|ethtool-policy-dump)/.test(f)) rmSync(join(OUT, f));
  const write = (name: string, m: Uint8Array) => writeFileSync(join(OUT, `${name}.hex`), hex(m) + "\n");
  // a dozen of each is variety enough; the fuzzer mutates them a million times
  fam.slice(0, 12).forEach((m, i) => write(`ctrl-newfamily-${String(i).padStart(2, "0")}`, m));
  pol.filter((_, i) => i % Math.max(1, Math.floor(pol.length / 12)) === 0).slice(0, 12)
    .forEach((m, i) => write(`ctrl-policy-${String(i).padStart(2, "0")}`, m));
  messages(seen).slice(0, 8).forEach((m, i) => write(`ethtool-ntf-${i}`, m));
  // ethtool's whole policy dump, one message per line, for the policy-typed decoder's tests
  writeFileSync(join(OUT, "ethtool-policy-dump.hex"), ethtoolPolicy.map((m) => hex(m, Infinity)).join("\n") + "\n");
  console.log(`capture-genl: ${readdirSync(OUT).filter((f) => f.endsWith(".hex")).length} messages in ${OUT} (${genlRegistry.byId.size} families known)`);
  return 0;
}


process.exit(process.argv.includes("--inner") ? await inner() : outer());
