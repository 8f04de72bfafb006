/** One request to a daemon's control socket, one reply (protocol.ts). */
import type { Reply } from "./protocol.ts";

export class ControlUnreachable extends Error {
  constructor(readonly path: string, readonly code: string, message: string) {
    super(message);
  }
}

/** Send `req`, wait for the reply line; throws ControlUnreachable when nothing answers there. */
export async function controlRequest(path: string, req: object, timeoutMs = 5000): Promise<Reply> {
  let got = "";
  let settle: (r: Reply | Error) => void = () => {};
  const result = new Promise<Reply | Error>((r) => (settle = r));
  const decoder = new TextDecoder();
  let sock;
  try {
    sock = await Bun.connect({
      unix: path,
      socket: {
        data(_s, chunk) {
          got += decoder.decode(chunk, { stream: true });
          const nl = got.indexOf("\n");
          if (nl < 0) return;
          try {
            settle(JSON.parse(got.slice(0, nl)) as Reply);
          } catch {
            settle(new Error(`the daemon's reply is not JSON: ${got.slice(0, 200)}`));
          }
        },
        close() {
          settle(new Error("the daemon closed the connection without a reply"));
        },
        error(_s, e) {
          settle(e);
        },
      },
    });
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    throw new ControlUnreachable(path, code, (e as Error).message);
  }
  const timer = setTimeout(() => settle(new Error(`no reply within ${timeoutMs / 1000} s`)), timeoutMs);
  sock.write(JSON.stringify(req) + "\n");
  const r = await result;
  clearTimeout(timer);
  sock.end();
  if (r instanceof Error) throw r;
  return r;
}
