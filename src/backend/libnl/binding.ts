/**
 * Low-level binding to libnl (libnl-tiny on OpenWrt, libnl-3 elsewhere) for the libnl backend.
 *
 * Only functions libnl-tiny exports may be called (symbols.ts is the list, checked by a test), so a
 * few things libnl-3 offers are done another way here:
 * - the socket fd is read from struct nl_sock at byte offset 24 (after two 12-byte sockaddr_nl), the
 *   field libnl-tiny's inline nl_socket_get_fd reads; libnl-3 keeps that layout;
 * - receive-buffer forcing and poll() go through libc on that fd.
 *
 * nl_recv hands back the raw bytes of one datagram; they are copied into the receive batch and freed at once,
 * so no native buffer outlives a call and decoding stays in TypeScript.
 */
import type { LibraryHandle } from "koffi";
import { koffi } from "../../ffi/koffi.ts";
import { NLMSG_HDRLEN, readHeader } from "../../codec/nlmsg.ts";
// Generated for the build host's ABI; these socket/poll values are the asm-generic ones, the same on
// every target nlmon ships for (x86_64, arm64), but not on MIPS/SPARC/PA-RISC/Alpha.
import {
  NLM_F_DUMP_INTR,
  POLLERR,
  POLLHUP,
  POLLIN,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SIZEOF,
} from "../../uapi/linux.gen.ts";
import { NL_CB_CUSTOM, NL_CB_DEFAULT, NL_CB_FINISH, NL_CB_MSG_IN, NL_OK, NL_STOP, SIZEOF_UCRED } from "./constants.gen.ts";
import {
  CALLBACK_TYPES,
  LIBC_SYMBOLS,
  LIBNL_SYMBOLS,
  type LibcSymbolName,
  type LibnlPart,
  type LibnlSymbolName,
} from "./symbols.ts";

/** the largest C int: libnl's buffer-size arguments are ints */
const INT_MAX = 0x7fffffff;

/** what LibraryHandle.func returns (koffi does not export the name) */
type KoffiFunction = ReturnType<LibraryHandle["func"]>;
/** libnl-tiny's struct nl_sock: s_local and s_peer (struct sockaddr_nl each), then int s_fd */
const SOCKADDR_NL_SIZE = SIZEOF.sockaddr_nl;
const NL_SOCK_FD_OFFSET = 2 * SOCKADDR_NL_SIZE;

/** one candidate: the files that together must provide every symbol, core part first */
interface Candidate {
  readonly label: string;
  readonly files: { readonly path: string; readonly parts: readonly LibnlPart[] }[];
}

const DEFAULT_CANDIDATES: readonly Candidate[] = [
  { label: "libnl-tiny", files: [{ path: "libnl-tiny.so", parts: ["core", "genl"] }] },
  {
    label: "libnl-3",
    files: [
      { path: "libnl-3.so.200", parts: ["core"] },
      { path: "libnl-genl-3.so.200", parts: ["genl"] },
    ],
  },
];

const INSTALL_HINT =
  "install libnl-3-200 and libnl-genl-3-200 (Debian/Ubuntu) or libnl-tiny (OpenWrt), " +
  "or point NLMON_LIBNL_PATH at the library";

/**
 * libnl error numbers, found at load time by matching nl_geterror() texts rather than compiled in:
 * the NLE_* values live only in headers (libnl-3-dev, absent on routers), and reading them from the
 * running library keeps us right for whichever libnl is actually loaded. libnl-tiny and libnl-3 use
 * the same texts for these codes. Only AGAIN and NOMEM are required; the others are informative.
 */
const NLE_TEXTS = {
  FAILURE: "Unspecific failure",
  INTR: "Interrupted system call",
  BAD_SOCK: "Bad socket",
  AGAIN: "Try again",
  NOMEM: "Out of memory",
  EXIST: "Object exists",
  INVAL: "Invalid input data or parameter",
  OBJ_NOTFOUND: "Object not found",
  MSG_TRUNC: "Kernel reported truncated message",
  NOADDR: "Invalid address for specified address family",
  BUSY: "Object busy",
  PERM: "Operation not permitted",
  DUMP_INTR: "Dump inconsistency detected, interrupted",
} as const;
type NleName = keyof typeof NLE_TEXTS;
export type NleCodes = { readonly AGAIN: number; readonly NOMEM: number } & {
  readonly [K in Exclude<NleName, "AGAIN" | "NOMEM">]?: number;
};
/** nl_geterror maps anything above NLE_MAX to the NLE_FAILURE text, so a short scan sees all codes */
const NLE_SCAN_LIMIT = 64;

export interface LibnlHandle {
  /** "libnl-tiny", "libnl-3" or "custom" (an explicit path) */
  readonly flavour: string;
  /** the files the symbols came from */
  readonly files: readonly string[];
  /** positive NLE_* numbers of the loaded library */
  readonly nle: NleCodes;
  /** raw koffi functions; prefer LibnlSocket */
  readonly fn: { readonly [K in LibnlSymbolName]: KoffiFunction };
  readonly libc: { readonly [K in LibcSymbolName]: KoffiFunction };
  /** nl_geterror text for a (negative or positive) libnl code */
  geterror(code: number): string;
}

export class LibnlError extends Error {
  override readonly name = "LibnlError";
  /**
   * @param op the libnl call that failed
   * @param code its negative return value
   * @param text nl_geterror(code)
   * @param errno libc errno right after the call (what the kernel said, when it said anything)
   * @param overrun the call was nl_recv and the code is the one kernel ENOBUFS maps to
   */
  constructor(
    readonly op: string,
    readonly code: number,
    readonly text: string,
    readonly errno: number,
    readonly overrun: boolean,
  ) {
    super(`${op}: ${text} (libnl error ${code}${errno ? `, errno ${errno}` : ""})`);
  }
}

/**
 * True when a receive failed because the kernel dropped notifications (socket receive queue
 * overrun, ENOBUFS). Both libnl-3 and libnl-tiny turn recvmsg's ENOBUFS into -NLE_NOMEM
 * (nl_syserr2nlerr), so this is the only code that can signal it; nl_recv's other NOMEM path is a
 * failed malloc of its receive buffer, which we do not tell apart (errno is kept on the error).
 */
export function isOverrun(err: unknown): boolean {
  return err instanceof LibnlError && err.overrun;
}

let libcCache: LibnlHandle["libc"] | undefined;

function loadLibc(): LibnlHandle["libc"] {
  if (libcCache) return libcCache;
  const k = koffi();
  let lib: LibraryHandle | undefined;
  const reasons: string[] = [];
  // glibc names its soname libc.so.6; musl answers to libc.so; the process itself always has libc
  for (const path of ["libc.so.6", "libc.so", null]) {
    try {
      lib = k.load(path);
      break;
    } catch (e) {
      reasons.push(`${path ?? "(process)"}: ${(e as Error).message}`);
    }
  }
  if (!lib) throw new Error(`cannot load libc: ${reasons.join("; ")}`);
  const out = {} as Record<LibcSymbolName, KoffiFunction>;
  for (const s of LIBC_SYMBOLS) out[s.name] = lib.func(s.proto);
  libcCache = out;
  return out;
}

const handleCache = new Map<string, LibnlHandle>();

/** koffi types by name are process-wide and may be declared once */
let callbackTypes: { msg: unknown; err: unknown } | undefined;
function declareCallbackTypes(k: ReturnType<typeof koffi>) {
  callbackTypes ??= { msg: k.proto(CALLBACK_TYPES.nlmon_msg_cb), err: k.proto(CALLBACK_TYPES.nlmon_err_cb) };
  return callbackTypes;
}

/**
 * Where struct nl_msg keeps its struct nlmsghdr pointer (nlmsg_hdr() is a static inline in
 * libnl-tiny, so it cannot be called): after int nm_protocol, int nm_flags, struct sockaddr_nl
 * nm_src and nm_dst and struct ucred nm_creds, at the next pointer boundary. The same in libnl-3
 * (test/unit/libnl-binding.test.ts checks it against libnl-3's nlmsg_hdr).
 */
export function nlMsgHeaderOffset(pointerSize: number): number {
  const before = 4 + 4 + 2 * SOCKADDR_NL_SIZE + SIZEOF_UCRED;
  return Math.ceil(before / pointerSize) * pointerSize;
}

const DUMP_CHUNK = 65536;

/** What came back for one request through libnl's receive loop. */
export interface Replies {
  /** every message libnl accepted, in order, NLMSG_DONE included, packed as datagrams are (up to 64 KiB each) */
  messages: Uint8Array[];
  /** a reply carried NLM_F_DUMP_INTR: the kernel's state changed during the dump */
  interrupted: boolean;
  /** the request ended in NLMSG_ERROR (its message is the last in `messages`) */
  refused: boolean;
  /** libnl's receive loop failed (sequence mismatch, overrun, timeout); `messages` is incomplete */
  error?: string;
}

function scanErrorCodes(geterror: (c: number) => string): NleCodes {
  const found: Partial<Record<NleName, number>> = {};
  const names = Object.keys(NLE_TEXTS) as NleName[];
  for (let c = 0; c <= NLE_SCAN_LIMIT; c++) {
    const text = geterror(c);
    for (const n of names) if (found[n] === undefined && NLE_TEXTS[n] === text) found[n] = c;
  }
  if (found.AGAIN === undefined || found.NOMEM === undefined)
    throw new Error(
      `unrecognised libnl error table (no "${NLE_TEXTS.AGAIN}" or "${NLE_TEXTS.NOMEM}" among nl_geterror(0..${NLE_SCAN_LIMIT}))`,
    );
  return found as NleCodes;
}

/** loads and binds one candidate, or throws with the dlopen/dlsym reason */
function bindCandidate(c: Candidate, tried: string[]): LibnlHandle {
  const key = c.files.map((f) => f.path).join("\0");
  const cached = handleCache.get(key);
  if (cached) {
    for (const f of c.files) tried.push(f.path);
    return cached;
  }
  const k = koffi();
  declareCallbackTypes(k);
  const fn = {} as Record<LibnlSymbolName, KoffiFunction>;
  for (const f of c.files) {
    tried.push(f.path);
    let lib: LibraryHandle;
    try {
      lib = k.load(f.path);
    } catch (e) {
      throw new Error(`${f.path}: ${(e as Error).message}`);
    }
    for (const s of LIBNL_SYMBOLS) {
      if (!f.parts.includes(s.part)) continue;
      try {
        fn[s.name] = lib.func(s.proto);
      } catch (e) {
        throw new Error(`${f.path}: no usable ${s.name} (${(e as Error).message})`);
      }
    }
  }
  const libc = loadLibc();
  const geterrorFn = fn.nl_geterror;
  const geterror = (code: number): string => String(geterrorFn(code) ?? "");
  const handle: LibnlHandle = {
    flavour: c.label,
    files: c.files.map((f) => f.path),
    nle: scanErrorCodes(geterror),
    fn,
    libc,
    geterror,
  };
  handleCache.set(key, handle);
  return handle;
}

/** candidates for an explicit path: the file alone, else with its libnl-genl-3 sibling */
function explicitCandidates(path: string): Candidate[] {
  const out: Candidate[] = [{ label: "custom", files: [{ path, parts: ["core", "genl"] }] }];
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  if (base.startsWith("libnl-3.")) {
    const genl = path.slice(0, slash + 1) + "libnl-genl-3." + base.slice("libnl-3.".length);
    out.push({
      label: "custom",
      files: [
        { path, parts: ["core"] },
        { path: genl, parts: ["genl"] },
      ],
    });
  }
  return out;
}

/**
 * Loads libnl. An explicit `library` is the only thing tried (a user who names a file wants that file,
 * not a silent fallback); otherwise libnl-tiny.so, then libnl-3.so.200 with libnl-genl-3.so.200.
 * `tried` lists every file attempted, in order, including the one that worked.
 */
export function loadLibnl(opts: { library?: string } = {}): { lib: LibnlHandle; tried: string[] } {
  const candidates = opts.library ? explicitCandidates(opts.library) : DEFAULT_CANDIDATES;
  const tried: string[] = [];
  const reasons: string[] = [];
  for (const c of candidates) {
    try {
      return { lib: bindCandidate(c, tried), tried: [...new Set(tried)] };
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  const files = [...new Set(tried)];
  throw new Error(
    `cannot load libnl; tried ${files.join(", ")} (${[...new Set(reasons)].join("; ")}). To fix: ${INSTALL_HINT}`,
  );
}

export interface BufferSizes {
  /** SO_RCVBUF as the kernel reports it (twice the requested bytes, its bookkeeping overhead) */
  rcvbuf: number;
  sndbuf: number;
  /** SO_RCVBUFFORCE was needed and accepted to get past net.core.rmem_max */
  forced: boolean;
}

function clampInt(n: number): number {
  return Math.max(0, Math.min(INT_MAX, Math.floor(n)));
}

export class LibnlSocket {
  private sk: unknown;
  private cachedFd = -1;
  private readonly peer = new Uint8Array(SOCKADDR_NL_SIZE);
  private readonly bufOut: unknown[] = [null];
  private readonly credOut: unknown[] = [null];
  private readonly intOpt = new Int32Array(1);
  private readonly optLen = new Uint32Array(1);
  private readonly pollBytes = new ArrayBuffer(8);
  private readonly pollFd = new Int32Array(this.pollBytes, 0, 1);
  private readonly pollEv = new Int16Array(this.pollBytes, 4, 2);

  /**
   * @param protocol a NETLINK_* protocol for nl_connect, or "generic" to connect with genl_connect
   * @param opts.checkSeq keep libnl's sequence check; off by default because a monitoring socket
   *   receives notifications with sequence numbers it never sent, which libnl's receive loop would
   *   reject (our recv() never consults it; genl_ctrl_resolve's internal loop is happy either way)
   */
  constructor(
    readonly lib: LibnlHandle,
    readonly protocol: number | "generic",
    opts: { checkSeq?: boolean } = {},
  ) {
    const sk = lib.fn.nl_socket_alloc();
    if (!sk) throw new LibnlError("nl_socket_alloc", -lib.nle.NOMEM, lib.geterror(lib.nle.NOMEM), 0, false);
    this.sk = sk;
    if (!opts.checkSeq) lib.fn.nl_socket_disable_seq_check(sk);
  }

  private handle(op: string): unknown {
    if (!this.sk) throw new Error(`${op}: libnl socket is closed`);
    return this.sk;
  }

  private fail(op: string, code: number, errno: number): never {
    const overrun = op === "nl_recv" && -code === this.lib.nle.NOMEM;
    throw new LibnlError(op, code, this.lib.geterror(code), errno, overrun);
  }

  private check(op: string, rc: number): number {
    if (rc < 0) this.fail(op, rc, koffi().errno());
    return rc;
  }

  connect(): void {
    const sk = this.handle("connect");
    if (this.protocol === "generic") this.check("genl_connect", this.lib.fn.genl_connect(sk));
    else this.check("nl_connect", this.lib.fn.nl_connect(sk, this.protocol));
    this.cachedFd = koffi().decode(sk, NL_SOCK_FD_OFFSET, "int") as number;
  }

  /** the socket's fd (-1 before connect or after close) */
  get fd(): number {
    return this.sk ? this.cachedFd : -1;
  }

  private getIntOpt(name: number): number {
    this.optLen[0] = 4;
    if (this.lib.libc.getsockopt(this.fd, SOL_SOCKET, name, this.intOpt, this.optLen) < 0)
      throw new Error(`getsockopt(${name}) failed: errno ${koffi().errno()}`);
    return this.intOpt[0]!;
  }

  /**
   * nl_socket_set_buffer_size uses SO_RCVBUF, which the kernel caps at net.core.rmem_max; when that
   * leaves less than asked for, SO_RCVBUFFORCE (CAP_NET_ADMIN) on the same fd lifts the cap. Without
   * the capability the capped size stands and is reported. Call after connect (libnl needs the fd).
   */
  setBufferSize(rx: number, tx: number): BufferSizes {
    const sk = this.handle("setBufferSize");
    const rxi = clampInt(rx);
    this.check("nl_socket_set_buffer_size", this.lib.fn.nl_socket_set_buffer_size(sk, rxi, clampInt(tx)));
    let rcvbuf = this.getIntOpt(SO_RCVBUF);
    let forced = false;
    if (rxi > 0 && rcvbuf < Math.min(rxi * 2, INT_MAX)) {
      this.intOpt[0] = rxi;
      if (this.lib.libc.setsockopt(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, this.intOpt, 4) === 0) {
        forced = true;
        rcvbuf = this.getIntOpt(SO_RCVBUF);
      }
    }
    return { rcvbuf, sndbuf: this.getIntOpt(SO_SNDBUF), forced };
  }

  /**
   * Joins each group with its own call: libnl's list is 0-terminated, and one group per call keeps
   * the failing group identifiable. libnl uses NETLINK_ADD_MEMBERSHIP, so groups above 32 work.
   */
  addMemberships(groups: readonly number[]): void {
    const sk = this.handle("addMemberships");
    for (const g of groups) {
      if (!Number.isInteger(g) || g <= 0) throw new RangeError(`invalid netlink group ${g}`);
      this.check(`nl_socket_add_memberships(${g})`, this.lib.fn.nl_socket_add_memberships(sk, g, "int", 0));
    }
  }

  setNonblocking(): void {
    this.check("nl_socket_set_nonblocking", this.lib.fn.nl_socket_set_nonblocking(this.handle("setNonblocking")));
  }

  /**
   * One datagram (possibly several netlink messages), copied into `dst` (at most its length);
   * returns the datagram's size, or 0 when nothing is queued on a non-blocking socket (libnl-3
   * says -NLE_AGAIN, libnl-tiny returns 0) or on EOF. Throws LibnlError otherwise; see isOverrun
   * for ENOBUFS.
   */
  recvInto(dst: Uint8Array): number {
    const sk = this.handle("recv");
    this.bufOut[0] = null;
    this.credOut[0] = null;
    const n = this.lib.fn.nl_recv(sk, this.peer, this.bufOut, this.credOut) as number;
    const errno = n < 0 ? koffi().errno() : 0;
    const buf = this.bufOut[0];
    const creds = this.credOut[0];
    if (creds) this.lib.libc.free(creds);
    if (n > 0) {
      if (!buf) throw new Error(`nl_recv returned ${n} bytes but no buffer`);
      this.lib.libc.memcpy(dst, buf, Math.min(n, dst.length));
      this.lib.libc.free(buf);
      return n;
    }
    // on n <= 0 both libraries have already freed their buffer and left *buf NULL
    if (n === 0 || n === -this.lib.nle.AGAIN) return 0;
    this.fail("nl_recv", n, errno);
  }

  /**
   * The replies to the request just sent, received the libnl way: nl_recvmsgs reads them, checks
   * each sequence number against the request's (the socket must keep its sequence check), follows
   * a multipart reply to NLMSG_DONE and ends on NLMSG_ERROR. Each message is copied out when
   * libnl takes it in (NL_CB_MSG_IN). The socket is non-blocking, so the loop waits in poll()
   * between reads.
   * With `each`, every full chunk goes to it (a view, reused afterwards) instead of being kept.
   */
  recvReplies(timeoutMs: number, each?: (chunk: Uint8Array) => void): Replies {
    const sk = this.handle("recvReplies");
    const k = koffi();
    const f = this.lib.fn;
    const types = declareCallbackTypes(k);
    const nlhOffset = nlMsgHeaderOffset(k.sizeof("void *"));
    const out: Replies = { messages: [], interrupted: false, refused: false };
    let last = new Uint8Array(65536);
    // messages are packed back to back (each padded to 4 bytes, as in a datagram) into chunks: a
    // 100k-route dump becomes a few hundred buffers to hand over, not 100k
    let chunk = new Uint8Array(DUMP_CHUNK);
    let chunkDv = new DataView(chunk.buffer);
    let used = 0;
    let done = false;
    // Each message is copied as libnl takes it in (NL_CB_MSG_IN), the one callback per message: a
    // second one on NL_CB_VALID cost as much again (100k routes: 390-440 ms -> 250-300 ms). What
    // libnl would not pass on is either nothing to decode (NLMSG_NOOP) or ends the loop with an
    // error (sequence mismatch, overrun), so keeping it changes no outcome.
    const onIn = k.register((msg: unknown) => {
      const hdr = k.decode(msg, nlhOffset, "void *");
      const len = k.decode(hdr, 0, "uint32_t") as number;
      if (len > last.length) last = new Uint8Array(len);
      this.lib.libc.memcpy(last, hdr, len);
      const padded = (len + 3) & ~3;
      if (used + padded > chunk.length) {
        if (used) {
          if (each) each(chunk.subarray(0, used));
          else out.messages.push(chunk.slice(0, used));
        }
        // what was handed on is a copy or already consumed, so the chunk is reused
        if (padded > chunk.length) {
          chunk = new Uint8Array(padded);
          chunkDv = new DataView(chunk.buffer);
        }
        used = 0;
      }
      chunk.set(last.subarray(0, len), used);
      if (len >= NLMSG_HDRLEN && readHeader(chunkDv, used).flags & NLM_F_DUMP_INTR) out.interrupted = true;
      used += padded;
      return NL_OK;
    }, k.pointer(types.msg as never));
    const onFinish = k.register(() => {
      // NLMSG_DONE is kept too: a capture of the dump shows where it ended, as the kernel sent it
      done = true;
      return NL_STOP;
    }, k.pointer(types.msg as never));
    const onError = k.register(() => {
      out.refused = true;
      done = true;
      return NL_STOP;
    }, k.pointer(types.err as never));
    const cb = f.nl_cb_alloc(NL_CB_DEFAULT);
    if (!cb) throw new LibnlError("nl_cb_alloc", -this.lib.nle.NOMEM, this.lib.geterror(this.lib.nle.NOMEM), 0, false);
    try {
      f.nl_cb_set(cb, NL_CB_MSG_IN, NL_CB_CUSTOM, onIn, null);
      f.nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, onFinish, null);
      f.nl_cb_err(cb, NL_CB_CUSTOM, onError, null);
      const deadline = performance.now() + timeoutMs;
      while (!done) {
        if (performance.now() > deadline) return { ...out, error: `no complete reply within ${timeoutMs / 1000} s` };
        if (!this.waitReadable(Math.min(1000, Math.max(0, deadline - performance.now())))) continue;
        const rc = f.nl_recvmsgs(sk, cb) as number;
        // after NLMSG_DONE or NLMSG_ERROR a negative code is the outcome (the error, or libnl-3's
        // NLE_DUMP_INTR), already recorded; before, only "nothing queued yet" is not a failure
        if (rc < 0 && !done && rc !== -this.lib.nle.AGAIN) {
          const overrun = -rc === this.lib.nle.NOMEM;
          return { ...out, error: `nl_recvmsgs: ${this.lib.geterror(-rc)}${overrun ? " (receive queue overrun)" : ""}` };
        }
      }
      if (used) {
        if (each) each(chunk.subarray(0, used));
        else out.messages.push(chunk.slice(0, used));
      }
      return out;
    } finally {
      f.nl_cb_put(cb);
      for (const r of [onIn, onFinish, onError]) k.unregister(r);
    }
  }

  /**
   * Waits up to timeoutMs for the fd to become readable. Also true on POLLERR/POLLHUP, because a
   * pending socket error (ENOBUFS) is only delivered by the next recv.
   */
  waitReadable(timeoutMs: number): boolean {
    this.pollFd[0] = this.fd;
    this.pollEv[0] = POLLIN;
    this.pollEv[1] = 0;
    const rc = this.lib.libc.poll(this.pollBytes, 1, Math.floor(timeoutMs)) as number;
    if (rc < 0) {
      const errno = koffi().errno();
      if (errno === koffi().os.errno.EINTR) return false;
      throw new Error(`poll failed: errno ${errno}`);
    }
    return rc > 0 && (this.pollEv[1]! & (POLLIN | POLLERR | POLLHUP)) !== 0;
  }

  /**
   * nl_send_simple builds the header itself (sequence and port filled in, NLM_F_REQUEST and, unless
   * disabled, NLM_F_ACK added); payload is the body after struct nlmsghdr. Returns bytes sent.
   */
  sendSimple(type: number, flags: number, payload: Uint8Array): number {
    const sk = this.handle("sendSimple");
    const body = payload.length > 0 ? payload : null;
    return this.check("nl_send_simple", this.lib.fn.nl_send_simple(sk, type, flags, body, payload.length));
  }

  /** sends a complete netlink message (or several) exactly as given, to the kernel */
  sendRaw(msg: Uint8Array): number {
    return this.check("nl_sendto", this.lib.fn.nl_sendto(this.handle("sendRaw"), msg, msg.length));
  }

  close(): void {
    const sk = this.sk;
    if (!sk) return;
    this.sk = null;
    this.cachedFd = -1;
    this.lib.fn.nl_close(sk);
    this.lib.fn.nl_socket_free(sk);
  }

  /** @internal the nl_sock pointer, for the genl helpers below */
  raw(): unknown {
    return this.handle("raw");
  }
}

function checkResolve(sock: LibnlSocket, op: string, rc: number): number {
  if (rc < 0) throw new LibnlError(op, rc, sock.lib.geterror(rc), koffi().errno(), false);
  return rc;
}

/** generic netlink family id for `name` (socket connected with protocol "generic") */
export function genlResolve(sock: LibnlSocket, name: string): number {
  return checkResolve(sock, `genl_ctrl_resolve(${name})`, sock.lib.fn.genl_ctrl_resolve(sock.raw(), name));
}

/** multicast group id of `group` in generic netlink family `family` */
export function genlResolveGroup(sock: LibnlSocket, family: string, group: string): number {
  return checkResolve(
    sock,
    `genl_ctrl_resolve_grp(${family}, ${group})`,
    sock.lib.fn.genl_ctrl_resolve_grp(sock.raw(), family, group),
  );
}
