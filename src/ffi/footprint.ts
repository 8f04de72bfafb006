/**
 * Handing back the pages of nlmon's own binary that only start-up touched. Starting reads the
 * config, dumps the kernel's state and JIT-compiles the decoders: that touches about 27 MiB of the
 * binary's code (JSC's compilers among it) that an idle monitor never runs again, and the pages stay
 * in its RSS until the kernel is short of memory. On a router that is most of what nlmon shows in
 * `top`. Once start-up has gone quiet, the read-only file-backed mappings are advised MADV_PAGEOUT: the
 * kernel reclaims the pages only this process maps, they stay in the page cache, and whatever runs
 * again faults back in from there (an idle monitor settles at about 17 MiB of file pages).
 *
 * Only for the daemon: an application using the library API keeps its pages as it likes.
 */
import { fs } from "../node-lazy.ts";
import { MADV_PAGEOUT } from "../uapi/linux.gen.ts";
import { loadLibc } from "./libc.ts";

type Madvise = (addr: bigint, len: number, advice: number) => number;
let madvise: Madvise | undefined;

function bind(): Madvise {
  if (madvise) return madvise;
  const f = loadLibc().func("int madvise(uintptr_t, size_t, int)");
  madvise = (a, l, adv) => f(a, l, adv) as number;
  return madvise;
}

/**
 * Compiled code and allocator memory that start-up (or a burst) left behind, handed back: JSC drops
 * the code it keeps for functions (they recompile from bytecode when they run again) and returns
 * free malloc pages. About 1.5 MiB of private memory on the main thread, 0.3 on the receive thread.
 * Bun marks the call deprecated; a Bun without it is simply not asked.
 */
export function shrinkHeap(): void {
  const b = Bun as unknown as { shrink?: () => void };
  if (typeof b.shrink === "function") b.shrink();
}

let trim: (() => void) | null | undefined;

/**
 * What libc's malloc keeps of freed memory, returned to the kernel, from every arena: libnl
 * allocates through libc (a buffer per message it receives) on the receive thread, whose arena
 * otherwise keeps what start-up's messages used. glibc has malloc_trim; musl returns memory by
 * itself and has none.
 */
export function trimMalloc(): void {
  if (trim === undefined) {
    trim = null;
    try {
      const f = loadLibc().func("int malloc_trim(size_t)");
      trim = () => void f(0);
    } catch {
      // not glibc
    }
  }
  trim?.();
}

export interface PageOutResult {
  /** mappings advised */
  advised: number;
  /** refused (a kernel before 5.4 does not know MADV_PAGEOUT) */
  refused: number;
}

/** The file-backed mappings nothing writes, advised MADV_PAGEOUT. Never throws. */
export function pageOutFileMappings(): PageOutResult {
  const r: PageOutResult = { advised: 0, refused: 0 };
  let maps: string;
  try {
    maps = fs().readFileSync("/proc/self/maps", "utf8");
  } catch {
    return r;
  }
  let call: Madvise;
  try {
    call = bind();
  } catch {
    return r;
  }
  for (const line of maps.split("\n")) {
    // "start-end perms offset dev inode path"
    const f = line.split(/\s+/, 6);
    const path = f[5];
    const perms = f[1];
    if (!path?.startsWith("/") || !perms || perms[1] === "w") continue;
    const [a, b] = f[0]!.split("-");
    const start = BigInt(`0x${a}`);
    const len = Number(BigInt(`0x${b}`) - start);
    if (call(start, len, MADV_PAGEOUT) === 0) r.advised++;
    else r.refused++;
  }
  return r;
}

/**
 * How much more reluctant than normal JSC is to JIT-compile while the config is read. Parsing YAML
 * and validating it runs once; compiled, it left about 0.7 MiB of private memory behind for the
 * life of the process (idle RssAnon with `--config`, 3 runs each: 11.8-11.9 MiB at 1, 11.0-11.6 at
 * 1000; 1,000,000 measured the same as 1000). Setting it for the receive thread's start changed
 * nothing measurable, so only the config is read this way.
 */
const CONFIG_JIT_SCALE = 1000;

type JitPolicy = (scale: number) => void;
let jitScale = 1;

/** the scale this thread last asked for (1 when it never did), for tests */
export function currentJitScale(): number {
  return jitScale;
}

function setJit(scale: number): void {
  const u = (Bun as unknown as { unsafe?: { setJITPolicy?: JitPolicy } }).unsafe;
  if (typeof u?.setJITPolicy !== "function") return;
  u.setJITPolicy(scale);
  jitScale = scale;
}

/**
 * Run `f` (code that runs once, at start) with the JIT held back, then restore the normal policy.
 * A Bun without Bun.unsafe.setJITPolicy just runs it.
 */
export async function withReluctantJit<T>(f: () => Promise<T> | T): Promise<T> {
  setJit(CONFIG_JIT_SCALE);
  try {
    return await f();
  } finally {
    setJit(1);
  }
}
