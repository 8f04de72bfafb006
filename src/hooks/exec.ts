/**
 * Running one command for a hook or an alert's exec action: no shell unless asked for, input on
 * stdin, its own process group so a timeout takes everything it started, and nothing the event
 * loop waits on.
 */
import { fs, path } from "../node-lazy.ts";

export type RunOutcome = "ok" | "failed" | "timeout";

export interface RunResult {
  result: RunOutcome;
  /** exit status, when it exited */
  code: number | null;
  /** the signal that ended it, when one did */
  signal: string | null;
  ms: number;
  /** why it could not start, or how it ended badly, in words */
  error?: string;
  /** the end of what it wrote to stderr (stdout is not kept: nlmon's stdout is the event stream) */
  stderr: string;
}

export interface RunHandle {
  readonly pid: number | undefined;
  readonly done: Promise<RunResult>;
  /** end it now (nlmon is stopping): its whole process group */
  kill(): void;
}

export interface RunOptions {
  stdin: Uint8Array;
  env: Record<string, string>;
  timeoutMs: number;
  /** after SIGTERM, how long the group has before SIGKILL */
  graceMs?: number;
}

/** stderr kept per run, from its end: enough for an error message, bounded whatever the command writes */
const STDERR_KEEP = 2048;

/** sends a signal to a process group; a group that has already gone is not an error */
export function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

export function runCommand(argv: readonly string[], o: RunOptions): RunHandle {
  const t0 = performance.now();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    // detached: setsid(), so the child leads a new process group and -pid reaches all it starts
    proc = Bun.spawn([...argv], { detached: true, stdin: o.stdin, stdout: "ignore", stderr: "pipe", env: o.env });
  } catch (e) {
    const error = `cannot start ${argv[0]}: ${(e as Error).message}`;
    return { pid: undefined, done: Promise.resolve({ result: "failed", code: null, signal: null, ms: 0, error, stderr: "" }), kill() {} };
  }
  const pid = proc.pid;
  const grace = o.graceMs ?? Math.min(2000, Math.max(100, o.timeoutMs));
  let timedOut = false;
  let signalled = false;
  let hard: ReturnType<typeof setTimeout> | undefined;
  const term = () => {
    signalled = true;
    killGroup(pid, "SIGTERM");
    hard ??= setTimeout(() => killGroup(pid, "SIGKILL"), grace);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    term();
  }, o.timeoutMs);
  const tail = readTail(proc.stderr as ReadableStream<Uint8Array>);

  const done = (async (): Promise<RunResult> => {
    const code = await proc.exited;
    clearTimeout(timer);
    clearTimeout(hard);
    // the leader is gone; what it started may have ignored SIGTERM
    if (signalled) killGroup(pid, "SIGKILL");
    // what it wrote just before exiting may still be in the pipe; a grandchild holding the pipe
    // open must not hold the result
    const stderr = await Promise.race([tail.text, Bun.sleep(100).then(() => tail.now())]);
    tail.stop();
    const ms = Math.round(performance.now() - t0);
    const signal = proc.signalCode == null ? null : String(proc.signalCode);
    if (timedOut) return { result: "timeout", code: null, signal, ms, error: `timed out after ${o.timeoutMs} ms; its process group was killed`, stderr };
    if (code === 0) return { result: "ok", code, signal: null, ms, stderr };
    const error = signal ? `killed by ${signal}` : `exit status ${code}`;
    return { result: "failed", code: signal ? null : code, signal, ms, error, stderr };
  })();
  return { pid, done, kill: term };
}

function readTail(stream: ReadableStream<Uint8Array>) {
  let buf = new Uint8Array(0);
  let stopped = false;
  const reader = stream.getReader();
  const dec = () => new TextDecoder().decode(buf).trim();
  const text = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stopped) break;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf, 0);
        joined.set(value, buf.length);
        buf = joined.length > STDERR_KEEP ? joined.slice(joined.length - STDERR_KEEP) : joined;
      }
    } catch {
      // the pipe broke: what was read is all there is
    }
    return dec();
  })();
  return {
    text,
    now: dec,
    stop() {
      stopped = true;
      reader.cancel().catch(() => {});
    },
  };
}

/**
 * Why `cmd` (argv[0]) cannot be run, or undefined when it can: checked when hooks are set up, so
 * a typo is an error at start rather than a failure counted at every event.
 */
export function commandProblem(cmd: string): string | undefined {
  if (cmd === "") return "command is empty";
  if (!cmd.includes("/")) {
    return Bun.which(cmd, { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" }) ? undefined : `command '${cmd}' not found (searched PATH)`;
  }
  const full = path().resolve(cmd);
  let st;
  try {
    st = fs().statSync(full);
  } catch {
    return `command '${cmd}' not found`;
  }
  if (st.isDirectory()) return `command '${cmd}' is a directory`;
  try {
    fs().accessSync(full, fs().constants.X_OK);
  } catch {
    return `command '${cmd}' is not executable`;
  }
  return undefined;
}
