/**
 * The daemon's control socket: a unix stream socket on the main thread (Bun.listen), answering
 * line-delimited JSON requests (protocol.ts). Everything here is event-driven and answers from
 * state already in memory, so a client, however slow or hostile, costs the event loop a parse of
 * at most MAX_REQUEST_BYTES per line and never waits on anything.
 */
import type { Socket, UnixSocketListener } from "bun";
import { fs, path as pathMod } from "../node-lazy.ts";
import { lockPath } from "./path-lock.ts";
import { COMMANDS, type Command, MAX_REQUEST_BYTES, type Reply } from "./protocol.ts";

export type Handlers = Record<Command, () => Reply>;

interface Conn {
  /** bytes of a request line not yet ended by "\n" */
  partial: Buffer;
  /** reply bytes the socket did not take yet (a client that does not read) */
  pending: Buffer[];
  /** close once pending is written: the client broke the protocol */
  closing: boolean;
  /** holds one of the MAX_CONNECTIONS slots */
  counted: boolean;
}

/** connections served at once; more are closed at once (a client that opens and never writes holds one until IDLE_S) */
const MAX_CONNECTIONS = 16;
/** an idle connection, or a half line never finished, is closed after this (Bun checks timeouts every few seconds) */
const IDLE_S = 5;
/** reply bytes held for a client that does not read them; beyond this it is disconnected */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

export interface ControlLog {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
}

export class ControlServer {
  private connections = 0;
  private stopped = false;

  private constructor(readonly path: string, private readonly listener: UnixSocketListener<Conn>, private readonly ino: number) {}

  /**
   * Listen at `path`, or say why not and return undefined: a daemon without its control socket
   * still monitors. A socket file nobody answers on is a dead daemon's and is replaced; one that
   * answers belongs to a running nlmon, which keeps it.
   */
  static async open(path: string, handlers: Handlers, log: ControlLog): Promise<ControlServer | undefined> {
    const without = "this nlmon runs without a control socket (--status cannot reach it)";
    const dirWhy = ControlServer.makeDir(path);
    if (dirWhy) {
      log.warn(`${dirWhy}; ${without}`);
      return undefined;
    }
    // daemons starting at once take the path in turn (path-lock.ts)
    const unlock = await lockPath(`${path}.lock`);
    if (typeof unlock === "string") {
      log.warn(`control socket ${path}: ${unlock}; ${without}`);
      return undefined;
    }
    try {
      return await ControlServer.take(path, handlers, log, without);
    } finally {
      unlock();
    }
  }

  private static async take(path: string, handlers: Handlers, log: ControlLog, without: string): Promise<ControlServer | undefined> {
    const why = await ControlServer.clearWay(path);
    if (why) {
      log.warn(`${why}; ${without}`);
      return undefined;
    }
    const serve = new Served(handlers, log);
    let listener: UnixSocketListener<Conn>;
    // created 0600 rather than chmod-ed after: between the two anyone could connect
    const umask = process.umask(0o177);
    try {
      listener = Bun.listen<Conn>({
        unix: path,
        data: { partial: Buffer.alloc(0), pending: [], closing: false, counted: false },
        // a client that sends its request and shuts its side (`printf ... | socat`) still gets the reply
        allowHalfOpen: true,
        socket: serve.handler(),
      });
    } catch (e) {
      // EADDRINUSE: another daemon bound it between the look above and now
      const why = (e as { code?: string }).code === "EADDRINUSE" ? "another nlmon is running and answers there" : `cannot listen: ${errText(e)}`;
      log.warn(`control socket ${path}: ${why}; ${without}`);
      return undefined;
    } finally {
      process.umask(umask);
    }
    let ino = -1;
    try {
      ino = fs().statSync(path).ino;
    } catch {
      // removed already by someone else: stop() then leaves the path alone
    }
    const srv = new ControlServer(path, listener, ino);
    serve.server = srv;
    log.debug(`listening on ${path}`);
    return srv;
  }

  /** the default's /run/nlmon is made here; deeper missing directories are the config's mistake */
  private static makeDir(path: string): string | undefined {
    const dir = pathMod().dirname(path);
    try {
      if (!fs().existsSync(dir)) fs().mkdirSync(dir, { mode: 0o755 });
    } catch (e) {
      // another daemon made it first
      if ((e as { code?: string }).code === "EEXIST") return undefined;
      return `control socket ${path}: cannot make directory ${dir}: ${errText(e)}`;
    }
    return undefined;
  }

  /** Why `path` cannot be ours, after removing a dead daemon's socket there; undefined: free. */
  private static async clearWay(path: string): Promise<string | undefined> {
    let st;
    try {
      st = fs().lstatSync(path);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      return `control socket ${path}: ${errText(e)}`;
    }
    if (!st.isSocket()) return `control socket ${path}: something that is not a socket is there (nlmon removes only a dead daemon's socket)`;
    const live = await answers(path);
    if (live === true) return `control socket ${path}: another nlmon is running and answers there`;
    if (live !== false) return `control socket ${path}: cannot tell whether a daemon owns it (${live})`;
    try {
      fs().unlinkSync(path);
    } catch (e) {
      // removed meanwhile by hand (the lock keeps other daemons out): free all the same
      if ((e as { code?: string }).code !== "ENOENT") return `control socket ${path}: a dead daemon's socket is there and cannot be removed: ${errText(e)}`;
    }
    return undefined;
  }

  get connectionCount(): number {
    return this.connections;
  }

  /** @internal for Served */
  admit(): boolean {
    if (this.stopped || this.connections >= MAX_CONNECTIONS) return false;
    this.connections++;
    return true;
  }

  /** @internal for Served */
  release(): void {
    this.connections--;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    let mine = false;
    try {
      mine = fs().statSync(this.path).ino === this.ino;
    } catch {
      // already gone
    }
    // Bun's stop() unlinks the path whatever is there now (measured), so when a newer daemon has
    // put its own socket there the listener is left to close with this process instead
    if (mine) this.listener.stop(true);
  }
}

/** whether something accepts connections at `path`: true, false (refused: nothing listens), or the error */
async function answers(path: string): Promise<boolean | string> {
  try {
    const s = await Bun.connect({ unix: path, socket: { data() {} } });
    s.end();
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOENT") return false;
    return errText(e);
  }
}

function errText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  return typeof code === "string" && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** The per-connection side: framing, limits, replies. */
class Served {
  server: ControlServer | undefined;

  constructor(private readonly handlers: Handlers, private readonly log: ControlLog) {}

  handler() {
    return {
      open: (s: Socket<Conn>) => {
        if (!this.server?.admit()) {
          // told on its first request, once that is read: closing with it unread would reset the
          // connection and the client would hear nothing but ECONNRESET
          s.data = { partial: Buffer.alloc(0), pending: [], closing: true, counted: false };
          s.timeout(1);
          return;
        }
        s.data = { partial: Buffer.alloc(0), pending: [], closing: false, counted: true };
        s.timeout(IDLE_S);
      },
      data: (s: Socket<Conn>, chunk: Buffer) => this.data(s, chunk),
      end: (s: Socket<Conn>) => {
        const c = s.data;
        if (!c.counted) {
          s.end(line(TOO_MANY));
          return;
        }
        // the client has said all it will: a last request without its newline is still one
        if (!c.closing && c.partial.length) {
          const text = c.partial.toString("utf8");
          c.partial = Buffer.alloc(0);
          c.pending.push(Buffer.from(line(this.answer(text))));
        }
        c.closing = true;
        this.flush(s);
      },
      drain: (s: Socket<Conn>) => this.flush(s),
      timeout: (s: Socket<Conn>) => {
        if (!s.data.counted) {
          s.end(line(TOO_MANY));
          return;
        }
        // a half line never finished, or a client that went quiet: its slot is freed
        if (s.data.partial.length) this.reply(s, { ok: false, error: `incomplete request: no newline within ${IDLE_S} s` }, true);
        else s.end();
      },
      close: (s: Socket<Conn>) => {
        if (s.data.counted) this.server?.release();
        s.data.counted = false;
        s.data.pending = [];
        s.data.partial = Buffer.alloc(0);
      },
      error: (_s: Socket<Conn>, e: Error) => {
        this.log.debug(`connection error: ${e.message}`);
      },
    };
  }

  private data(s: Socket<Conn>, chunk: Buffer) {
    const c = s.data;
    if (c.closing) {
      if (!c.counted && !c.pending.length) this.reply(s, TOO_MANY, true);
      return;
    }
    let buf = c.partial.length ? Buffer.concat([c.partial, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      const text = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      if (text.length > MAX_REQUEST_BYTES) {
        this.reply(s, { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }, true);
        return;
      }
      this.reply(s, this.answer(text.toString("utf8")));
      if (c.closing) return;
    }
    if (buf.length > MAX_REQUEST_BYTES) {
      this.reply(s, { ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` }, true);
      return;
    }
    // copied: the chunk's memory is Bun's to reuse once this returns
    c.partial = Buffer.from(buf);
  }

  private answer(text: string): Reply {
    const t = text.trim();
    if (!t) return { ok: false, error: `empty request; send a JSON object such as {"cmd":"status"}` };
    let req: unknown;
    try {
      req = JSON.parse(t);
    } catch {
      return { ok: false, error: `not JSON: send one JSON object per line, such as {"cmd":"status"}` };
    }
    const cmd = req !== null && typeof req === "object" && !Array.isArray(req) ? (req as { cmd?: unknown }).cmd : undefined;
    if (typeof cmd !== "string") return { ok: false, error: `no "cmd": send a JSON object such as {"cmd":"status"}` };
    if (!(COMMANDS as readonly string[]).includes(cmd)) {
      return { ok: false, error: `unknown command ${JSON.stringify(cmd.slice(0, 64))} (known: ${COMMANDS.join(", ")})` };
    }
    try {
      return this.handlers[cmd as Command]();
    } catch (e) {
      // a bug behind one command must not take the daemon down with it
      this.log.warn(`${cmd}: ${errText(e)}`);
      return { ok: false, error: `${cmd} failed: ${errText(e)}` };
    }
  }

  private reply(s: Socket<Conn>, r: Reply, thenClose = false) {
    const c = s.data;
    c.pending.push(Buffer.from(line(r)));
    if (thenClose) c.closing = true;
    this.flush(s);
  }

  private flush(s: Socket<Conn>) {
    const c = s.data;
    let held = 0;
    while (c.pending.length) {
      const b = c.pending[0]!;
      const n = s.write(b);
      if (n < 0) {
        // the peer is gone: close() follows
        c.pending = [];
        return;
      }
      if (n < b.length) {
        c.pending[0] = b.subarray(n);
        for (const p of c.pending) held += p.length;
        if (held > MAX_PENDING_BYTES) {
          this.log.debug("a client that does not read its replies was disconnected");
          s.end();
        }
        return;
      }
      c.pending.shift();
    }
    if (c.closing) s.end();
  }
}

const TOO_MANY: Reply = { ok: false, error: "too many control connections; try again" };

function line(r: Reply): string {
  return JSON.stringify(r) + "\n";
}
