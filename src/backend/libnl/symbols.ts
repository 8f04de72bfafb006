/**
 * Every native function the libnl binding binds, as data. The binding builds its koffi functions
 * only from these tables, so a test can prove that each libnl name is one libnl-tiny exports
 * (test/unit/libnl-symbols.test.ts): on OpenWrt nothing else exists, even though libnl-3 has more.
 *
 * Pointers to libnl structs are `void *` on purpose: the binding never reads their fields except the
 * fd at a fixed offset (see binding.ts), so opaque koffi types would add nothing.
 */

/** which shared object holds the symbol when libnl-3 is split in two (libnl-tiny has both in one) */
export type LibnlPart = "core" | "genl";

export interface NativeSymbol {
  readonly name: string;
  /** koffi C-like prototype; the function name in it must equal `name` */
  readonly proto: string;
}

export interface LibnlSymbol extends NativeSymbol {
  readonly part: LibnlPart;
}

export const LIBNL_SYMBOLS = [
  { name: "nl_socket_alloc", part: "core", proto: "void *nl_socket_alloc()" },
  { name: "nl_socket_free", part: "core", proto: "void nl_socket_free(void *sk)" },
  { name: "nl_socket_disable_seq_check", part: "core", proto: "void nl_socket_disable_seq_check(void *sk)" },
  { name: "nl_connect", part: "core", proto: "int nl_connect(void *sk, int protocol)" },
  { name: "nl_close", part: "core", proto: "void nl_close(void *sk)" },
  {
    name: "nl_socket_set_buffer_size",
    part: "core",
    proto: "int nl_socket_set_buffer_size(void *sk, int rxbuf, int txbuf)",
  },
  // variadic, list terminated by 0; called with one group at a time
  { name: "nl_socket_add_memberships", part: "core", proto: "int nl_socket_add_memberships(void *sk, int group, ...)" },
  { name: "nl_socket_set_nonblocking", part: "core", proto: "int nl_socket_set_nonblocking(void *sk)" },
  // buf and creds are in/out so they start as NULL: libnl-tiny leaves *creds untouched when no
  // credentials arrive, and we free whatever comes back
  {
    name: "nl_recv",
    part: "core",
    proto: "int nl_recv(void *sk, void *nla, _Inout_ void **buf, _Inout_ void **creds)",
  },
  {
    name: "nl_send_simple",
    part: "core",
    proto: "int nl_send_simple(void *sk, int type, int flags, void *buf, size_t size)",
  },
  { name: "nl_sendto", part: "core", proto: "int nl_sendto(void *sk, void *buf, size_t size)" },
  { name: "nl_geterror", part: "core", proto: "const char *nl_geterror(int error)" },
  // dump replies go through libnl's receive loop (sequence check, multipart, errors); the callback
  // types are declared by the binding (CALLBACK_TYPES) before these are bound
  { name: "nl_cb_alloc", part: "core", proto: "void *nl_cb_alloc(int kind)" },
  { name: "nl_cb_set", part: "core", proto: "int nl_cb_set(void *cb, int type, int kind, nlmon_msg_cb *func, void *arg)" },
  { name: "nl_cb_err", part: "core", proto: "int nl_cb_err(void *cb, int kind, nlmon_err_cb *func, void *arg)" },
  { name: "nl_cb_put", part: "core", proto: "void nl_cb_put(void *cb)" },
  { name: "nl_recvmsgs", part: "core", proto: "int nl_recvmsgs(void *sk, void *cb)" },
  { name: "genl_connect", part: "genl", proto: "int genl_connect(void *sk)" },
  { name: "genl_ctrl_resolve", part: "genl", proto: "int genl_ctrl_resolve(void *sk, const char *name)" },
  {
    name: "genl_ctrl_resolve_grp",
    part: "genl",
    proto: "int genl_ctrl_resolve_grp(void *sk, const char *family, const char *grp)",
  },
] as const satisfies readonly LibnlSymbol[];

export type LibnlSymbolName = (typeof LIBNL_SYMBOLS)[number]["name"];

/** koffi prototypes of the callbacks handed to nl_cb_set and nl_cb_err */
export const CALLBACK_TYPES = {
  nlmon_msg_cb: "int nlmon_msg_cb(void *msg, void *arg)",
  nlmon_err_cb: "int nlmon_err_cb(void *nla, void *nlerr, void *arg)",
} as const;

/** libc functions the binding needs next to libnl (libnl-tiny has no accessor for these jobs) */
export const LIBC_SYMBOLS = [
  { name: "free", proto: "void free(void *ptr)" },
  // nl_recv's datagram straight into the receive batch: no JS object per datagram
  { name: "memcpy", proto: "void *memcpy(void *dest, void *src, size_t n)" },
  // struct pollfd is passed as 8 raw bytes: int fd, short events, short revents
  { name: "poll", proto: "int poll(void *fds, unsigned long nfds, int timeout)" },
  { name: "setsockopt", proto: "int setsockopt(int fd, int level, int optname, void *optval, uint32_t optlen)" },
  { name: "getsockopt", proto: "int getsockopt(int fd, int level, int optname, void *optval, void *optlen)" },
] as const satisfies readonly NativeSymbol[];

export type LibcSymbolName = (typeof LIBC_SYMBOLS)[number]["name"];
