/**
 * Sends nlctrl messages (hex, one per argument) to nlctrl's `notify` group in the caller's
 * network namespace, as the kernel does when a family registers: every socket that joined the
 * group receives them. A process with CAP_NET_ADMIN may send to a generic netlink group; the
 * kernel's own nlctrl also receives each message as a request and ignores it (no NLM_F_REQUEST).
 *   ip netns exec NS node_modules/.bin/bun test/live/genl-announce.ts NOTIFY_GROUP HEX...
 */
import { libc } from "../../src/ffi/libc.ts";
import { AF_NETLINK, NETLINK_GENERIC, OFFSETOF, SIZEOF, SOCK_CLOEXEC, SOCK_RAW } from "../../src/uapi/linux.gen.ts";

const [groupArg, ...msgs] = process.argv.slice(2);
const group = Number(groupArg);
// sockaddr_nl's nl_groups is a bitmask of groups 1..32, which nlctrl's notify group is in
if (!Number.isInteger(group) || group < 1 || group > 32 || !msgs.length) {
  process.stderr.write("usage: genl-announce.ts NOTIFY_GROUP(1..32) HEX...\n");
  process.exit(2);
}
const L = libc();
const fd = L.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
if (fd < 0) throw new Error(`socket: ${L.strerror(L.errno())}`);
const sa = new Uint8Array(SIZEOF.sockaddr_nl);
const dv = new DataView(sa.buffer);
dv.setUint16(OFFSETOF["sockaddr_nl.nl_family"], AF_NETLINK, true);
if (L.bind(fd, sa, sa.length) < 0) throw new Error(`bind: ${L.strerror(L.errno())}`);
dv.setUint32(OFFSETOF["sockaddr_nl.nl_groups"], 2 ** (group - 1), true);
if (L.connect(fd, sa, sa.length) < 0) throw new Error(`connect: ${L.strerror(L.errno())}`);
for (const hex of msgs) {
  const m = Uint8Array.from(Buffer.from(hex, "hex"));
  if (L.writev(fd, m) !== m.length) throw new Error(`send: ${L.strerror(L.errno())}`);
}
L.close(fd);
