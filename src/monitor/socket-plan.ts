/**
 * The dumps sock_diag's config section asks for: one per address family and protocol (the
 * kernel's inet_diag request names one of each), with the states and ports filtered in the kernel,
 * and the unix sockets when `sock_diag.unix` is on.
 */
import type { SockDiagConfig } from "../config/types.ts";
import { inetDiagRequests, unixDiagRequest } from "../families/sock_diag/request.ts";
import { AF_INET, AF_INET6 } from "../uapi/linux.gen.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../uapi/sock_diag.gen.ts";

export interface SockDiagPlan {
  /** protocol: what the replies are (they do not say it themselves) */
  requests: { protocol: string; request: Uint8Array }[];
  describe: string;
}

/** the config's state names (ss's filter words) as ss prints them, which the request builder takes */
const SS_NAME: Record<string, string> = {
  "established": "ESTAB", "syn-sent": "SYN-SENT", "syn-recv": "SYN-RECV", "fin-wait-1": "FIN-WAIT-1",
  "fin-wait-2": "FIN-WAIT-2", "time-wait": "TIME-WAIT", "close": "UNCONN", "close-wait": "CLOSE-WAIT",
  "last-ack": "LAST-ACK", "listen": "LISTEN", "closing": "CLOSING", "all": "all",
};

const PROTO: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

export function sockDiagPlan(c: SockDiagConfig): SockDiagPlan {
  const states = c.states.map((s) => SS_NAME[s]!);
  // a SYN-RECV filter should see request sockets too, which the kernel lists as NEW-SYN-RECV
  if (states.includes("SYN-RECV")) states.push("NEW-SYN-RECV");
  const requests: SockDiagPlan["requests"] = [];
  for (const p of c.protocols) {
    for (const r of inetDiagRequests({ families: [AF_INET, AF_INET6], protocols: [PROTO[p]!], states, ports: c.ports })) {
      requests.push({ protocol: p, request: r.request });
    }
  }
  if (c.unix) requests.push({ protocol: "unix", request: unixDiagRequest(states) });
  const parts = [c.protocols.join("+") || "no inet protocol", c.unix ? "unix" : "", c.states.includes("all") ? "" : `states ${c.states.join(",")}`,
    c.ports.length ? `ports ${c.ports.join(",")}` : ""].filter(Boolean);
  return { requests, describe: parts.join(", ") };
}
