/**
 * nlmon's entry point: parse flags, load the config, and run one mode. Exit 2 for anything the
 * user can fix in the command line or the config; 1 for failures at run time.
 */
import pkg from "../../package.json" with { type: "json" };
import { BackendUnavailable, selectBackend } from "../backend/select.ts";
import { defaultConfig } from "../config/default.ts";
import { ConfigError } from "../config/error.ts";
import { log } from "../log.ts";
import { parseArgs, UsageError, usage } from "./args.ts";
import { StdoutClosed, writeStdout } from "./stdout.ts";
import { ExportConfigError } from "../export/types.ts";
import type { NlmonConfig } from "../config/types.ts";
import type { ConfigInForce } from "../control/status.ts";
// each mode's modules load when it runs: a one-shot --dump-events or --version starts in a
// fraction of the time the monitor's pipeline, exports and caches take to load

export const VERSION = pkg.version;

/** errors of the modes' modules (loaded late, so known by name) that are the config's problem */
const CONFIG_PROBLEMS = new Set(["GenlResolveError", "NothingToMonitor", "NamespaceError"]);

async function writeOut(s: string | Uint8Array) {
  await Bun.write(Bun.stdout, s);
}

/**
 * The floor under nlmon's memory, for `--benchmark` (src/bench/live.ts): this binary with its
 * modules loaded and its receive thread running, but no flag parsed, no config read, no socket,
 * cache, decoder or export. What the runtime costs before nlmon does anything.
 */
async function runtimeFloor(): Promise<number> {
  const { WorkerBackend } = await import("../backend/host.ts");
  const backend = new WorkerBackend({ driver: "legacy" });
  await backend.start([], () => {});
  await new Promise((resolve) => process.once("SIGTERM", resolve));
  await backend.stop();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  if (process.env.NLMON_BENCH_ROLE === "floor") return await runtimeFloor();
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`nlmon: ${e.message}\nTry 'nlmon --help'.\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    await writeOut(usage() + "\n");
    return 0;
  }
  if (args.version) {
    await writeOut(`nlmon ${VERSION} (bun ${Bun.version})\n`);
    return 0;
  }
  let cfg;
  /** the file the daemon runs on, with the hash --status reports */
  let inForce: ConfigInForce | undefined;
  // the command line over the file, at start and again on every reload
  const override = (c: NlmonConfig) => {
    if (args.namespace !== undefined) c.netlink.namespace = args.namespace;
  };
  try {
    // the default needs no YAML parser; a file is parsed (and its problems located) by load.ts
    const path = args.config;
    if (path === undefined) {
      cfg = defaultConfig();
    } else {
      inForce = await (await import("../control/config-file.ts")).readConfigFile(path);
      cfg = inForce.cfg;
    }
    override(cfg);
    log.configure(cfg.logging);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`nlmon: config error:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.status) {
    return await (await import("./status.ts")).runStatus({ cfg, json: args.json, out: writeOut, err: (m) => void process.stderr.write(m) });
  }
  if (args.replay !== undefined) return await (await import("./replay.ts")).runReplay(cfg, args.replay, log);
  if (args.benchmark) return await (await import("../bench/index.ts")).runBenchmark(args, cfg, log);
  // one choice for every mode, so --test-mode checks the backend a start would run
  const chooseBackend = (warn: (m: string) => void) => selectBackend({ useLibnl: cfg.netlink.use_libnl, libnlLibrary: cfg.netlink.libnl.library || undefined, fallback: cfg.netlink.libnl.fallback, namespace: cfg.netlink.namespace || undefined, namespaces: cfg.netlink.namespaces }, warn);
  if (args.testMode) {
    return await (await import("./test-mode.ts")).runTestMode({ cfg, configPath: args.config ?? "", backend: chooseBackend, out: writeOut });
  }
  let backend;
  try {
    backend = chooseBackend((m) => log.warn("netlink", m));
  } catch (e) {
    if (e instanceof BackendUnavailable) {
      process.stderr.write(`nlmon: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    if (args.dumpEvents) {
      const { runDumpEvents } = await import("./dump.ts");
      const generic = cfg.netlink.protocols.generic ? cfg.netlink.generic_families : [];
      const p = cfg.netlink.protocols;
      const rc = await runDumpEvents(backend, async (b) => writeStdout(b), (m) => log.warn("dump", m), {
        genericFamilies: generic, netfilter: p.netfilter, sockDiag: p.sock_diag ? cfg.netlink.sock_diag : undefined,
      });
      await backend.stop();
      return rc;
    }
    const { runDumpCache, runMonitor } = await import("./run.ts");
    if (args.dumpCache) return await runDumpCache(cfg, backend, log, async (b) => writeStdout(b));
    return await runMonitor(cfg, backend, log, { version: VERSION, config: inForce ?? { cfg, path: "", sha256: "", loadedAt: Date.now() }, override });
  } catch (e) {
    await backend.stop().catch(() => {});
    // `nlmon --dump-events | head`: the reader has what it wanted
    if (e instanceof StdoutClosed) return 0;
    process.stderr.write(`nlmon: ${(e as Error).message}\n`);
    // a family the kernel lacks, a port in use, nothing to listen to: the config's problem
    return e instanceof ExportConfigError || CONFIG_PROBLEMS.has((e as Error).name) ? 2 : 1;
  }
}

if (import.meta.main) {
  // nothing may end in a stack trace through the bundled source: say what failed, and go on
  // where going on is safe (a stray rejection) or stop cleanly where it is not
  process.on("unhandledRejection", (e) => {
    process.stderr.write(`nlmon: internal error (continuing): ${e instanceof Error ? e.message : String(e)}\n`);
  });
  process.on("uncaughtException", (e) => {
    process.stderr.write(`nlmon: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
  let rc: number;
  try {
    rc = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`nlmon: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    rc = 1;
  }
  process.exit(rc);
}
