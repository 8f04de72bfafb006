/**
 * struct tcp_info (INET_DIAG_INFO of a TCP socket). The struct grows with the kernel, so each
 * field is read by the offset and size in the headers nlmon was built with, and only if the
 * received struct reaches it; bytes of a newer struct are counted, not guessed at. Values are
 * converted to the units ss prints (µs → ms, bytes/s → bits/s).
 */
import type { TcpInfoModel } from "../../event/socket-model.ts";
import { flagsToNames, shortNames } from "../../decode/names.ts";
import { FIELDSIZE, FLAGS, NAMES, OFFSETOF, SIZEOF, TCPI_OPT_WSCALE } from "../../uapi/sock_diag.gen.ts";

type Field = keyof typeof FIELDSIZE extends `tcp_info.${infer F}` ? F : never;

/**
 * The kernel's "no slow-start threshold yet" (TCP_INFINITE_SSTHRESH in include/net/tcp.h, not
 * UAPI, so not generated): ss leaves such a value out.
 */
const TCP_INFINITE_SSTHRESH = 0x7fffffff;
/** what the kernel reports for an unlimited pacing rate (~0ULL) and for no min_rtt sample yet (~0U) */
const U64_NONE = BigInt.asUintN(64, -1n);
const U32_NONE = -1 >>> 0;

const CA_NAMES = shortNames(NAMES.tcp_ca_state, "TCP_CA_");

/** TCPI_OPT_* as ss prints them; unnamed bits (a newer kernel's) stay in hex */
const SS_OPT: Record<string, string> = {
  TCPI_OPT_TIMESTAMPS: "ts",
  TCPI_OPT_SACK: "sack",
  TCPI_OPT_WSCALE: "wscale",
  TCPI_OPT_ECN: "ecn",
  TCPI_OPT_ECN_SEEN: "ecnseen",
  TCPI_OPT_SYN_DATA: "fastopen",
};
const OPT_NAMES = FLAGS.tcpi_opt.map(([bit, name]) => [bit, SS_OPT[name] ?? name.toLowerCase()] as [number, string]);

/**
 * The bitfields after tcpi_options have no offsetof: the byte right after tcpi_options holds
 * tcpi_snd_wscale:4 and tcpi_rcv_wscale:4, the next one tcpi_delivery_rate_app_limited:1 and
 * tcpi_fastopen_client_fail:2, all before tcpi_rto. The ABI allocates bitfields from the low bit.
 */
const WSCALE_AT = OFFSETOF["tcp_info.tcpi_options"] + FIELDSIZE["tcp_info.tcpi_options"];
const RATE_FLAGS_AT = WSCALE_AT + 1;
const BITFIELDS_FIT = RATE_FLAGS_AT < OFFSETOF["tcp_info.tcpi_rto"];

function num64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

export function decodeTcpInfo(dv: DataView, off: number, len: number): TcpInfoModel {
  const has = (f: Field) => OFFSETOF[`tcp_info.${f}`] + FIELDSIZE[`tcp_info.${f}`] <= len;
  /** an 8-, 16- or 32-bit field, or undefined when the struct stops short of it */
  const u = (f: Field): number | undefined => {
    if (!has(f)) return undefined;
    const at = off + OFFSETOF[`tcp_info.${f}`];
    const size = FIELDSIZE[`tcp_info.${f}`] as number;
    return size === 1 ? dv.getUint8(at) : size === 2 ? dv.getUint16(at, true) : dv.getUint32(at, true);
  };
  const u64 = (f: Field): bigint | undefined => (has(f) ? dv.getBigUint64(off + OFFSETOF[`tcp_info.${f}`], true) : undefined);
  const ms = (us: number | undefined) => (us === undefined ? undefined : us / 1000);
  /** a 64-bit time in µs → whole ms, as ss prints busy and the limited times */
  const ms64 = (us: bigint | undefined) => (us === undefined ? undefined : num64(us / 1000n));
  /** a 64-bit rate in bytes/s → bits/s; the unlimited value means none */
  const bps = (rate: bigint | undefined) => (rate === undefined || rate === U64_NONE ? undefined : num64(rate * 8n));
  const n64 = (v: bigint | undefined) => (v === undefined ? undefined : num64(v));

  const t: TcpInfoModel = {};
  const set = <K extends keyof TcpInfoModel>(k: K, v: TcpInfoModel[K] | undefined) => {
    if (v !== undefined) t[k] = v;
  };
  set("state_num", u("tcpi_state"));
  const ca = u("tcpi_ca_state");
  if (ca !== undefined) {
    t.ca_state = CA_NAMES[ca] ?? String(ca);
    t.ca_state_num = ca;
  }
  set("retransmits", u("tcpi_retransmits"));
  set("probes", u("tcpi_probes"));
  set("backoff", u("tcpi_backoff"));
  const opts = u("tcpi_options");
  if (opts !== undefined) {
    t.options = flagsToNames(opts, OPT_NAMES);
    t.options_raw = opts;
    if (BITFIELDS_FIT && WSCALE_AT < len && (opts & TCPI_OPT_WSCALE) !== 0) {
      const w = dv.getUint8(off + WSCALE_AT);
      t.snd_wscale = w & 0x0f;
      t.rcv_wscale = w >> 4;
    }
  }
  if (BITFIELDS_FIT && RATE_FLAGS_AT < len) {
    const b = dv.getUint8(off + RATE_FLAGS_AT);
    t.app_limited = (b & 1) !== 0;
    t.fastopen_client_fail = (b >> 1) & 3;
  }
  set("rto", ms(u("tcpi_rto")));
  set("ato", ms(u("tcpi_ato")));
  set("mss", u("tcpi_snd_mss"));
  set("rcvmss", u("tcpi_rcv_mss"));
  set("unacked", u("tcpi_unacked"));
  set("sacked", u("tcpi_sacked"));
  set("lost", u("tcpi_lost"));
  set("retrans", u("tcpi_retrans"));
  set("fackets", u("tcpi_fackets"));
  set("lastsnd", u("tcpi_last_data_sent"));
  set("lastrcv", u("tcpi_last_data_recv"));
  set("lastack", u("tcpi_last_ack_recv"));
  set("pmtu", u("tcpi_pmtu"));
  set("rcv_ssthresh", u("tcpi_rcv_ssthresh"));
  const rttUs = u("tcpi_rtt");
  set("rtt", ms(rttUs));
  set("rttvar", ms(u("tcpi_rttvar")));
  const ssthresh = u("tcpi_snd_ssthresh");
  if (ssthresh !== undefined && ssthresh < TCP_INFINITE_SSTHRESH) t.ssthresh = ssthresh;
  set("cwnd", u("tcpi_snd_cwnd"));
  set("advmss", u("tcpi_advmss"));
  set("reordering", u("tcpi_reordering"));
  set("rcv_rtt", ms(u("tcpi_rcv_rtt")));
  set("rcv_space", u("tcpi_rcv_space"));
  set("total_retrans", u("tcpi_total_retrans"));
  const pacing = bps(u64("tcpi_pacing_rate"));
  set("pacing_rate", pacing);
  // ss shows the cap only beside a rate
  if (pacing !== undefined) set("max_pacing_rate", bps(u64("tcpi_max_pacing_rate")));
  set("bytes_acked", n64(u64("tcpi_bytes_acked")));
  set("bytes_received", n64(u64("tcpi_bytes_received")));
  set("segs_out", u("tcpi_segs_out"));
  set("segs_in", u("tcpi_segs_in"));
  set("notsent", u("tcpi_notsent_bytes"));
  const minRtt = u("tcpi_min_rtt");
  if (minRtt !== undefined && minRtt !== U32_NONE) t.minrtt = minRtt / 1000;
  set("data_segs_in", u("tcpi_data_segs_in"));
  set("data_segs_out", u("tcpi_data_segs_out"));
  set("delivery_rate", bps(u64("tcpi_delivery_rate")));
  set("busy", ms64(u64("tcpi_busy_time")));
  set("rwnd_limited", ms64(u64("tcpi_rwnd_limited")));
  set("sndbuf_limited", ms64(u64("tcpi_sndbuf_limited")));
  set("delivered", u("tcpi_delivered"));
  set("delivered_ce", u("tcpi_delivered_ce"));
  set("bytes_sent", n64(u64("tcpi_bytes_sent")));
  set("bytes_retrans", n64(u64("tcpi_bytes_retrans")));
  set("dsack_dups", u("tcpi_dsack_dups"));
  set("reord_seen", u("tcpi_reord_seen"));
  set("rcv_ooopack", u("tcpi_rcv_ooopack"));
  set("snd_wnd", u("tcpi_snd_wnd"));
  // ss's estimate of what the window allows: cwnd segments of mss bytes per rtt
  if (rttUs && t.cwnd && t.mss) t.send = Math.round((t.cwnd * t.mss * 8 * 1e6) / rttUs);
  if (len > SIZEOF.tcp_info) t.unknown_tail_bytes = len - SIZEOF.tcp_info;
  return t;
}
