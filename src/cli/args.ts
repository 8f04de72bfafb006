/** Command-line parsing. Every mistake is a usage error (exit 2) that says what was meant. */

export class UsageError extends Error {}

export interface Args {
  config?: string;
  help: boolean;
  version: boolean;
  dumpEvents: boolean;
  dumpCache: boolean;
  benchmark: boolean;
  duration: number;
  compare: boolean;
  json: boolean;
  replay?: string;
  /** --benchmark --routes N: the full-table burst of N routes instead of the standard stages */
  routes?: number;
  /** set only when given, so a plain run's Args stay as they were */
  testMode?: boolean;
  status?: boolean;
  /** --namespace NAME: netlink.namespace for this run, over the config's */
  namespace?: string;
}

/** a day: longer than any benchmark needs, short enough that a typo of a few zeros is caught */
const MAX_DURATION_S = 86400;
/** ten times a full IPv4 BGP table: the prefixes the burst is made of run out at 167 million */
const MAX_ROUTES = 10_000_000;

interface FlagSpec { name: string; value?: "string" | "number"; help: string; metavar?: string }

export const FLAGS: FlagSpec[] = [
  { name: "--config", value: "string", metavar: "FILE", help: "read configuration from FILE (default: the embedded config/nlmon.yaml)" },
  { name: "--dump-events", help: "dump links, addresses, routes (all tables, v4 and v6), neighbours, rules, nexthops as events and exit; deterministic, for diffing" },
  { name: "--dump-cache", help: "fill the caches the config enables, print them in the --dump-events format and exit" },
  { name: "--replay", value: "string", metavar: "FILE", help: "decode a pcap/pcapng capture of netlink traffic and export it as live events" },
  { name: "--benchmark", help: "measure decoding and live capture (see --duration, --compare, --routes, --json)" },
  { name: "--duration", value: "number", metavar: "SECONDS", help: "how long --benchmark churns routes, in whole bursts (default 10; 0: one burst)" },
  { name: "--routes", value: "number", metavar: "N", help: "with --benchmark: only the full-table burst, N routes by ip -batch over tables 10-19, nlmon with route_cache and `ip monitor` listening" },
  { name: "--compare", help: "with --benchmark: both backends and `ip monitor` on the same churn, side by side" },
  { name: "--test-mode", help: "check the config and everything it needs (sockets, groups, families, libnl, buffer, exports) without monitoring; exit 0 all pass, 1 a check failed, 2 config error" },
  { name: "--status", help: "ask the running daemon (its control socket, from --config or the default) what it is doing" },
  { name: "--namespace", value: "string", metavar: "NAME", help: "monitor the network namespace NAME (/run/netns/NAME, or a path) from outside it: netlink.namespace" },
  { name: "--json", help: "with --benchmark or --status: machine-readable output" },
  { name: "--version", help: "print the version and exit" },
  { name: "--help", help: "print this help and exit" },
];

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** `--flag` or `--flag=...` naming one of FLAGS, or -h / -V */
function isKnownOption(s: string): boolean {
  if (s === "-h" || s === "-V") return true;
  if (!s.startsWith("--")) return false;
  const eq = s.indexOf("=");
  const name = eq > 0 ? s.slice(0, eq) : s;
  return FLAGS.some((f) => f.name === name);
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { help: false, version: false, dumpEvents: false, dumpCache: false, benchmark: false, duration: 10, compare: false, json: false };
  let durationGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    // `--` ends the options; since nlmon takes no arguments, nothing may follow it
    if (raw === "--") {
      const next = argv[i + 1];
      if (next !== undefined) throw new UsageError(`unexpected argument '${next}': nlmon takes no positional arguments`);
      break;
    }
    if (raw === "-h") { a.help = true; continue; }
    if (raw === "-V") { a.version = true; continue; }
    const eq = raw.indexOf("=");
    const name = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    const spec = FLAGS.find((f) => f.name === name);
    if (!spec) {
      const best = FLAGS.map((f) => [f.name, distance(name, f.name)] as const).sort((x, y) => x[1] - y[1])[0]!;
      const hint = raw.startsWith("-") && best[1] <= 3 ? `; did you mean '${best[0]}'?` : "";
      throw new UsageError(raw.startsWith("-") ? `unknown option '${raw}'${hint}` : `unexpected argument '${raw}': nlmon takes no positional arguments`);
    }
    let value: string | undefined;
    if (spec.value) {
      const inline = eq > 0 && raw.startsWith("--");
      value = inline ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new UsageError(`option '${spec.name}' needs a value (${spec.metavar})`);
      // `--config --dump-events` forgot the file; a file really named like that is `--config=--dump-events` or ./--dump-events
      if (!inline && isKnownOption(value))
        throw new UsageError(`option '${spec.name}' needs a value (${spec.metavar}); '${value}' is an option`);
    } else if (eq > 0 && raw.startsWith("--")) {
      throw new UsageError(`option '${spec.name}' takes no value`);
    }
    switch (spec.name) {
      case "--config": a.config = value; break;
      case "--namespace": a.namespace = value; break;
      case "--test-mode": a.testMode = true; break;
      case "--status": a.status = true; break;
      case "--replay": a.replay = value; break;
      case "--duration": {
        // plain decimal only: Number() would also take 0x10, 1e3 and " 5 ". The churn runs whole
        // bursts until the time is up, at least one, so 0 is the shortest run: a single burst.
        const n = /^\d+(\.\d+)?$/.test(value!) ? Number(value) : NaN;
        if (!Number.isFinite(n) || n < 0 || n > MAX_DURATION_S) {
          throw new UsageError(`--duration: expected seconds from 0 (a single burst) to ${MAX_DURATION_S}, got '${value}'`);
        }
        a.duration = n;
        durationGiven = true;
        break;
      }
      case "--routes": {
        // a plain positive integer: no sign, no exponent, no separators, no leading zero
        const n = /^[1-9]\d*$/.test(value!) ? Number(value) : NaN;
        if (!Number.isSafeInteger(n) || n > MAX_ROUTES) {
          throw new UsageError(`--routes: expected a whole number of routes from 1 to ${MAX_ROUTES}, got '${value}'`);
        }
        a.routes = n;
        break;
      }
      case "--dump-events": a.dumpEvents = true; break;
      case "--dump-cache": a.dumpCache = true; break;
      case "--benchmark": a.benchmark = true; break;
      case "--compare": a.compare = true; break;
      case "--json": a.json = true; break;
      case "--version": a.version = true; break;
      case "--help": a.help = true; break;
    }
  }
  const modes = [a.dumpEvents, a.dumpCache, a.benchmark, a.replay !== undefined, a.testMode, a.status].filter(Boolean).length;
  if (modes > 1) throw new UsageError("--dump-events, --dump-cache, --benchmark, --replay, --test-mode and --status are separate modes: choose one");
  if (a.compare && !a.benchmark) throw new UsageError("--compare goes with --benchmark");
  if (a.json && !a.benchmark && !a.status) throw new UsageError("--json goes with --benchmark or --status");
  // the daemon's namespace is its config's business; --status only finds its socket
  if (a.namespace !== undefined && a.status) throw new UsageError("--namespace does not go with --status: the daemon's namespace is set where it runs");
  if (durationGiven && !a.benchmark) throw new UsageError("--duration goes with --benchmark");
  if (a.routes !== undefined && !a.benchmark) throw new UsageError("--routes goes with --benchmark");
  if (a.routes !== undefined && (durationGiven || a.compare)) {
    throw new UsageError("--routes runs the full-table burst alone (the configured backend beside `ip monitor`): --duration and --compare do not apply");
  }
  return a;
}

export function usage(): string {
  const lines = [
    "usage: nlmon [--config FILE] [--namespace NAME] [--dump-events | --dump-cache | --replay FILE | --test-mode | --status [--json]",
    "             | --benchmark [--duration S] [--compare | --routes N] [--json]]",
    "",
    "Watches the kernel's netlink protocols, decodes every message into one event model and exports",
    "events as JSON, syslog and Prometheus text.",
    "",
  ];
  for (const f of FLAGS) lines.push(`  ${(f.name + (f.metavar ? " " + f.metavar : "")).padEnd(22)} ${f.help}`);
  lines.push("", "Signals to the daemon: SIGHUP re-reads the config (filters, exports, hooks, alerts, log levels) and reopens",
    "export files; SIGTERM/SIGINT stop it; SIGUSR1 writes its caches to a file.",
    "Environment: NLMON_USE_LIBNL=true|false selects the backend; NLMON_LIBNL_PATH names the libnl library.",
    "Exit status: 0 ok, 1 runtime failure (--test-mode: a check failed; --status: no daemon), 2 usage or configuration error.");
  return lines.join("\n");
}
