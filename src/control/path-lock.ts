/**
 * A lock taken around "is the control socket's path free? then take it": without it, two daemons
 * starting at once can both find a dead daemon's socket, and the second to unlink it removes the
 * socket the first has just bound, leaving the first unreachable without knowing it. The lock is a
 * file made with O_EXCL holding the owner's pid; a lock whose owner is gone, or that is older than
 * any start-up takes, is stale and is taken over.
 */
import { fs } from "../node-lazy.ts";

const WAIT_MS = 3000;
const STALE_MS = 10_000;

export type Unlock = () => void;

/** Take the lock at `file`, waiting up to WAIT_MS for another holder; a string says why not. */
export async function lockPath(file: string): Promise<Unlock | string> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const fd = fs().openSync(file, "wx", 0o600);
      fs().writeSync(fd, `${process.pid}\n`);
      fs().closeSync(fd);
      return () => {
        try {
          fs().unlinkSync(file);
        } catch {
          // taken over as stale, or removed by hand: nothing of ours is left
        }
      };
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") return `cannot make lock file ${file}: ${(e as Error).message}`;
    }
    if (stale(file)) {
      try {
        fs().unlinkSync(file);
      } catch {
        // another daemon took it over first
      }
      continue;
    }
    if (Date.now() > end) return `another nlmon has held ${file} for over ${WAIT_MS / 1000} s`;
    await Bun.sleep(10 + Math.random() * 20);
  }
}

function stale(file: string): boolean {
  let text: string;
  let age: number;
  try {
    text = fs().readFileSync(file, "utf8");
    age = Date.now() - fs().statSync(file).mtimeMs;
  } catch {
    // gone meanwhile: try again
    return false;
  }
  if (age > STALE_MS) return true;
  const pid = Number(text.trim());
  // written but not yet filled in by its maker: give it time
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // EPERM: a process of another user has that pid, alive
    return (e as { code?: string }).code === "ESRCH";
  }
}
