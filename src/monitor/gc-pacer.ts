/**
 * After a burst, collect garbage once things are quiet: the collector otherwise keeps the burst's
 * dead objects (and their pages) for a long time, which a router's memory notices.
 */
export class GcPacer {
  private sinceGc = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param trim hands back what the caches hold beyond their contents, before each collection
   * @param afterStartup runs after the collection that follows start-up (the daemon hands back
   *   what only start-up used there). Not after bursts: what a burst ran, the next one runs again,
   *   and faulting it back in and recompiling it stalled the next burst's first events (latency p99
   *   18-39 -> 80 ms in one benchmark run when it ran after every burst)
   */
  constructor(private readonly trim: () => void, private readonly afterStartup?: () => void) {}
  private startup = false;

  noteWork(messages: number): void {
    this.sinceGc += messages;
    if (this.sinceGc < 20000) return;
    this.collectSoon();
  }

  /** Collect once things are quiet, whatever the count: after start-up, which is a burst of its own. */
  collectSoon(startup = false): void {
    if (startup) this.startup = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sinceGc = 0;
      this.trim();
      Bun.gc(true);
      if (this.startup) {
        this.startup = false;
        this.afterStartup?.();
      }
    }, 1000);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
