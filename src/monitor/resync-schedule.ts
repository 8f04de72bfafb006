/**
 * When the caches are next compared with a fresh dump. Requests coalesce: one timer at a time,
 * one re-dump running at a time, and what is asked for while one runs is done once after it.
 */
export type ResyncWhy = "resync" | "implicit";

export class ResyncSchedule {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = 0;
  /** a re-dump is under way (set by whoever runs it) */
  running = false;
  private again: ResyncWhy | undefined;
  private pending: ResyncWhy | undefined;

  constructor(private readonly run: (why: ResyncWhy) => void) {}

  schedule(why: ResyncWhy, delayMs: number): void {
    // an overrun outranks an implicit repair: its events say that notifications were lost
    if (this.pending !== "resync") this.pending = why;
    if (this.running) {
      this.again = this.pending;
      return;
    }
    // a sooner repair (an overrun's) is not held up by a later one already planned (a re-check)
    const due = performance.now() + delayMs;
    if (this.timer) {
      if (due >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const w = this.pending ?? why;
      this.pending = undefined;
      this.run(w);
    }, delayMs);
  }

  /** The re-dump asked for while the last one ran, if any, soon. */
  scheduleAgain(): void {
    if (this.again) {
      const w = this.again;
      this.again = undefined;
      this.schedule(w, 20);
    }
  }

  /** no re-dump is running or planned */
  idle(): boolean {
    return !this.running && !this.timer && !this.again;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
