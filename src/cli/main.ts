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
import { withReluctantJit } from "../ffi/footprint.ts";
// each mode's modules load when it runs: a one-shot --dump-events or --version starts in a
// fraction of the time the monitor's pipeline, exports and caches take to load

export const VERSION = pkg.version;

/** errors of the modes' modules (loaded late, so known by name) that are the config's problem */
const CONFIG_PROBLEMS = new Set(["GenlResolveError", "NothingToMonitor"]);

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
  try {
    // the default needs no YAML parser; a file is parsed (and its problems located) by load.ts
    const path = args.config;
    cfg = path === undefined ? defaultConfig() : await withReluctantJit(async () => (await import("../config/load.ts")).loadConfig({ path }));
    log.configure(cfg.logging.level, cfg.logging.modules);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`nlmon: config error:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.replay !== undefined) return await (await import("./replay.ts")).runReplay(cfg, args.replay, log);
  if (args.benchmark) return await (await import("../bench/index.ts")).runBenchmark(args, cfg, log);
  let backend;
  try {
    backend = selectBackend({ useLibnl: cfg.netlink.use_libnl, libnlLibrary: cfg.netlink.libnl.library || undefined, fallback: cfg.netlink.libnl.fallback }, (m) => log.warn("netlink", m));
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
    return await runMonitor(cfg, backend, log);
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
