/**
 * SOCK_DIAG_BY_FAMILY dump requests: struct inet_diag_req_v2 for TCP and UDP over IPv4 and IPv6,
 * struct unix_diag_req for AF_UNIX, laid out by the generated offsets. A port filter is compiled
 * into the kernel's inet_diag bytecode so that unwanted sockets never cross into user space: on
 * a host with a large table the dump is then as small as the answer.
 */
import { AttrWriter } from "../../codec/attr.ts";
import { dumpRequest } from "../../codec/request.ts";
import { AF_UNIX } from "../../uapi/linux.gen.ts";
import {
  BPF_TCP_CLOSE, BPF_TCP_CLOSE_WAIT, BPF_TCP_CLOSING, BPF_TCP_ESTABLISHED, BPF_TCP_FIN_WAIT1, BPF_TCP_FIN_WAIT2,
  BPF_TCP_LAST_ACK, BPF_TCP_LISTEN, BPF_TCP_NEW_SYN_RECV, BPF_TCP_SYN_RECV, BPF_TCP_SYN_SENT, BPF_TCP_TIME_WAIT,
  FLAGS, INET_DIAG_BC_D_EQ, INET_DIAG_BC_JMP, INET_DIAG_BC_S_EQ, INET_DIAG_CONG, INET_DIAG_INFO,
  INET_DIAG_REQ_BYTECODE, INET_DIAG_SKMEMINFO, INET_DIAG_TCLASS, INET_DIAG_TOS, OFFSETOF, SIZEOF, SOCK_DIAG_BY_FAMILY,
} from "../../uapi/sock_diag.gen.ts";

/** state number → the name ss prints (UNCONN is TCP_CLOSE, which UDP and unix sockets use too) */
export const STATE_NAMES: Readonly<Record<number, string>> = {
  [BPF_TCP_ESTABLISHED]: "ESTAB",
  [BPF_TCP_SYN_SENT]: "SYN-SENT",
  [BPF_TCP_SYN_RECV]: "SYN-RECV",
  [BPF_TCP_FIN_WAIT1]: "FIN-WAIT-1",
  [BPF_TCP_FIN_WAIT2]: "FIN-WAIT-2",
  [BPF_TCP_TIME_WAIT]: "TIME-WAIT",
  [BPF_TCP_CLOSE]: "UNCONN",
  [BPF_TCP_CLOSE_WAIT]: "CLOSE-WAIT",
  [BPF_TCP_LAST_ACK]: "LAST-ACK",
  [BPF_TCP_LISTEN]: "LISTEN",
  [BPF_TCP_CLOSING]: "CLOSING",
  // request sockets: the kernel reports them as SYN-RECV, and SYN-RECV's bit selects them too
  [BPF_TCP_NEW_SYN_RECV]: "NEW-SYN-RECV",
};

/**
 * Every word for a state, in lower case → the state number, for validating configured state
 * filters: the names ss prints (estab, unconn, ...), ss's filter words (established, closed,
 * listening) and the config's (close, listen). "all" is not a state: stateMask takes it.
 */
export const SS_STATES: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(STATE_NAMES).map(([n, name]) => [name.toLowerCase(), Number(n)])),
  established: BPF_TCP_ESTABLISHED,
  close: BPF_TCP_CLOSE,
  closed: BPF_TCP_CLOSE,
  listening: BPF_TCP_LISTEN,
};

/** every state's bit: what `ss -a` asks for */
const ALL_STATES = Object.keys(STATE_NAMES).reduce((m, n) => (m | (1 << Number(n))) >>> 0, 0);

/** the idiag_states (or udiag_states) mask of state words (any case; see SS_STATES) or "all"; unknown words are refused */
export function stateMask(states: readonly string[] | undefined): number {
  if (!states || states.length === 0) return ALL_STATES;
  let mask = 0;
  for (const s of states) {
    const key = s.toLowerCase();
    if (key === "all") return ALL_STATES;
    const n = SS_STATES[key];
    if (n === undefined) throw new RangeError(`sock_diag: unknown socket state "${s}" (one of ${Object.keys(SS_STATES).join(", ")}, all)`);
    mask = (mask | (1 << n)) >>> 0;
  }
  return mask;
}

/** the extensions a request asks for: the kernel numbers bit n-1 for attribute n */
const EXT_BIT = (attr: number) => 1 << (attr - 1);
const IDIAG_EXT = EXT_BIT(INET_DIAG_INFO) | EXT_BIT(INET_DIAG_CONG) | EXT_BIT(INET_DIAG_TOS)
  | EXT_BIT(INET_DIAG_TCLASS) | EXT_BIT(INET_DIAG_SKMEMINFO);

const OP = SIZEOF.inet_diag_bc_op;
const O_CODE = OFFSETOF["inet_diag_bc_op.code"];
const O_YES = OFFSETOF["inet_diag_bc_op.yes"];
const O_NO = OFFSETOF["inet_diag_bc_op.no"];

/**
 * Bytecode accepting a socket whose local or remote port is one of `ports`. The kernel runs it
 * as: each op jumps `yes` bytes forward when its test holds and `no` bytes when not; landing
 * exactly on the end accepts, landing past it rejects. Its verifier only follows the `yes` chain
 * and requires every `no` target to lie on that chain, so each test falls through (`yes`) to an
 * unconditional jump to the end, and skips that jump (`no`) to reach the next test:
 *
 *   [S_EQ yes=op+arg no=op+arg+jmp][arg: port in `no`][JMP no=to end]   (then D_EQ the same, per port)
 *   [JMP yes=op no=past the end]                                       (nothing matched: reject)
 */
export function portFilter(ports: readonly number[]): Uint8Array {
  const test = 3 * OP;
  const len = ports.length * 2 * test + OP;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  const op = (at: number, code: number, yes: number, no: number) => {
    dv.setUint8(at + O_CODE, code);
    dv.setUint8(at + O_YES, yes);
    // host order: the kernel compares it with the socket's port in host order
    dv.setUint16(at + O_NO, no, true);
  };
  let at = 0;
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`sock_diag: bad port ${port}`);
    for (const code of [INET_DIAG_BC_S_EQ, INET_DIAG_BC_D_EQ]) {
      op(at, code, 2 * OP, test);
      // the comparison's operand: an op-sized slot whose `no` holds the port, never executed
      op(at + OP, 0, 0, port);
      op(at + 2 * OP, INET_DIAG_BC_JMP, OP, len - (at + 2 * OP));
      at += test;
    }
  }
  op(at, INET_DIAG_BC_JMP, OP, 2 * OP);
  return out;
}

export interface InetDiagRequestOptions {
  /** AF_INET and/or AF_INET6 */
  families: number[];
  /** IPPROTO_TCP and/or IPPROTO_UDP (any protocol the kernel has an inet_diag handler for) */
  protocols: number[];
  /** ss state names (ESTAB, LISTEN, ...) or "all"; all when left out */
  states?: string[];
  /** keep only sockets whose local or remote port is one of these (filtered by the kernel) */
  ports?: number[];
}

/** One dump request per family and protocol: inet_diag_req_v2 selects one of each. */
export function inetDiagRequests(o: InetDiagRequestOptions): { family: number; protocol: number; request: Uint8Array }[] {
  const states = stateMask(o.states);
  const bytecode = o.ports && o.ports.length > 0 ? portFilter(o.ports) : undefined;
  const attrs = bytecode ? new AttrWriter().bytes(INET_DIAG_REQ_BYTECODE, bytecode).finish() : new Uint8Array(0);
  const out: { family: number; protocol: number; request: Uint8Array }[] = [];
  for (const family of o.families) {
    for (const protocol of o.protocols) {
      const body = new Uint8Array(SIZEOF.inet_diag_req_v2 + attrs.length);
      const dv = new DataView(body.buffer);
      dv.setUint8(OFFSETOF["inet_diag_req_v2.sdiag_family"], family);
      dv.setUint8(OFFSETOF["inet_diag_req_v2.sdiag_protocol"], protocol);
      dv.setUint8(OFFSETOF["inet_diag_req_v2.idiag_ext"], IDIAG_EXT);
      dv.setUint32(OFFSETOF["inet_diag_req_v2.idiag_states"], states, true);
      // the id (ports, addresses, interface, cookie) stays zero: a dump matches on it only when set
      body.set(attrs, SIZEOF.inet_diag_req_v2);
      out.push({ family, protocol, request: dumpRequest(SOCK_DIAG_BY_FAMILY, body) });
    }
  }
  return out;
}

/** every UDIAG_SHOW_* bit the headers name: name, VFS inode, peer, pending connections, queues, memory, uid */
const UDIAG_SHOW_ALL = FLAGS.udiag_show.reduce((m, [bit]) => m | bit, 0);

/** A dump of every unix socket in every state, with everything the kernel will attach. */
export function unixDiagRequest(states?: string[]): Uint8Array {
  const body = new Uint8Array(SIZEOF.unix_diag_req);
  const dv = new DataView(body.buffer);
  dv.setUint8(OFFSETOF["unix_diag_req.sdiag_family"], AF_UNIX);
  dv.setUint32(OFFSETOF["unix_diag_req.udiag_states"], stateMask(states), true);
  dv.setUint32(OFFSETOF["unix_diag_req.udiag_show"], UDIAG_SHOW_ALL, true);
  return dumpRequest(SOCK_DIAG_BY_FAMILY, body);
}
