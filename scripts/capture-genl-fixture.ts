/**
 * Captures this kernel's answer to nlctrl's family dump (CTRL_CMD_GETFAMILY with NLM_F_DUMP) into
 * test/fixtures/genl/ctrl-getfamily-dump.hex, one datagram per line, through the legacy backend
 * (raw sockets keep the kernel's datagram framing). Each record has the layout of the
 * CTRL_CMD_NEWFAMILY notification the kernel multicasts when that family registers (the same
 * ctrl_fill_info builds both), so the tests use them as real announcements.
 * Run as root in the initial network namespace, which lists every family:
 *   node_modules/.bin/bun scripts/capture-genl-fixture.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { WorkerBackend } from "../src/backend/host.ts";
import { getFamilyDump } from "../src/families/genl/index.ts";
import { NETLINK_GENERIC } from "../src/uapi/linux.gen.ts";

const out = join(import.meta.dir, "../test/fixtures/genl/ctrl-getfamily-dump.hex");
const backend = new WorkerBackend({ driver: "legacy" });
try {
  const datagrams = await backend.dump(NETLINK_GENERIC, [getFamilyDump()]);
  writeFileSync(out, datagrams.map((d) => Buffer.from(d).toString("hex")).join("\n") + "\n");
  console.log(`wrote ${datagrams.length} datagrams to ${out}`);
} finally {
  await backend.stop();
}
