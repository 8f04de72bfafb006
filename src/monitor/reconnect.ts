/** The socket is gone: start a new backend thread, with backoff, and repair what was missed. */
import type { Backend, BackendEvent, BackendOptions } from "../backend/types.ts";
import type { Log } from "../log.ts";

export interface ReconnectDeps {
  backend: Backend;
  log: Log;
  /** the sockets to open again */
  opened: () => BackendOptions[];
  listener: (ev: BackendEvent) => void;
  /** re-dump the caches: what changed while no socket listened */
  repair: () => Promise<unknown>;
  stopped: () => boolean;
}

export class Reconnect {
  private reconnecting = false;
  private delay = 1000;

  constructor(private readonly d: ReconnectDeps) {}

  async run(): Promise<void> {
    // one failure event per socket: one reconnect serves them all
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      await this.loop();
    } finally {
      this.reconnecting = false;
    }
  }

  private async loop() {
    const { log } = this.d;
    while (!this.d.stopped()) {
      log.warn("netlink", `reconnecting in ${this.delay} ms`);
      await new Promise((r) => setTimeout(r, this.delay));
      if (this.d.stopped()) return;
      try {
        await this.d.backend.restart(this.d.opened(), this.d.listener);
        log.info("netlink", "reconnected; joined groups again, re-dumping caches");
        this.delay = 1000;
        await this.d.repair();
        return;
      } catch (e) {
        log.warn("netlink", `reconnect failed: ${(e as Error).message}`);
        this.delay = Math.min(this.delay * 2, 30000);
      }
    }
  }
}
