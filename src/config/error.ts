/**
 * Every problem found, one per line, each `FILE:LINE:COL: path: what` (or `FILE: ...` when no
 * position applies, or `VAR: ...` for a bad environment override). `problems` holds the same lines
 * for callers that want them separately.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(message: string, problems?: readonly string[]) {
    super(message);
    this.name = "ConfigError";
    this.problems = problems ?? message.split("\n");
  }
}
