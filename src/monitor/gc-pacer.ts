/**
 * After a burst, collect garbage once things are quiet: the collector otherwise keeps the burst's
 * dead objects (and their pages) for a long time, which a router's memory notices.
 */
export class GcPacer {
  private sinceGc = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param trim hands back what the caches hold beyond their contents, before each collection
   * @param quiet runs after each collection (the daemon hands back its start-up pages there)
   */
  constructor(private readonly trim: () => void, private readonly quiet?: () => void) {}

  noteWork(messages: number): void {
    this.sinceGc += messages;
    if (this.sinceGc < 20000) return;
    this.collectSoon();
  }

  /** Collect once things are quiet, whatever the count: after start-up, which is a burst of its own. */
  collectSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sinceGc = 0;
      this.trim();
      Bun.gc(true);
      this.quiet?.();
    }, 1000);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
