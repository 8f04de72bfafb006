import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";

/** the UsageError message, or a failure if parsing succeeded */
function usageErrorOf(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

describe("parseArgs", () => {
  test("no arguments: monitor with defaults", () => {
    expect(parseArgs([])).toEqual({
      help: false, version: false, dumpEvents: false, dumpCache: false, benchmark: false, duration: 10, compare: false, json: false,
    });
  });

  test("values by the next argument or after '='", () => {
    expect(parseArgs(["--config", "a.yaml", "--dump-events"]).config).toBe("a.yaml");
    expect(parseArgs(["--config=a.yaml"]).config).toBe("a.yaml");
    expect(parseArgs(["--replay", "c.pcap"]).replay).toBe("c.pcap");
    expect(usageErrorOf(["--config"])).toBe("option '--config' needs a value (FILE)");
    expect(usageErrorOf(["--config="])).toBe("option '--config' needs a value (FILE)");
    expect(usageErrorOf(["--dump-events=yes"])).toBe("option '--dump-events' takes no value");
  });

  test("a flag where a value belongs is not taken as the value", () => {
    expect(usageErrorOf(["--config", "--dump-events"])).toBe("option '--config' needs a value (FILE); '--dump-events' is an option");
    expect(usageErrorOf(["--replay", "--config=x.yaml"])).toBe("option '--replay' needs a value (FILE); '--config=x.yaml' is an option");
    expect(usageErrorOf(["--config", "-h"])).toBe("option '--config' needs a value (FILE); '-h' is an option");
    // a file that really has such a name can still be given
    expect(parseArgs(["--config=--dump-events"]).config).toBe("--dump-events");
    expect(parseArgs(["--config", "./--dump-events"]).config).toBe("./--dump-events");
    // an unknown word starting with -- is left alone: it may be a file name
    expect(parseArgs(["--config", "--odd-name.yaml"]).config).toBe("--odd-name.yaml");
  });

  test("'--' ends the options, and nothing may follow it", () => {
    expect(parseArgs(["--dump-events", "--"]).dumpEvents).toBe(true);
    expect(usageErrorOf(["--", "x.yaml"])).toBe("unexpected argument 'x.yaml': nlmon takes no positional arguments");
    expect(usageErrorOf(["--", "--dump-events"])).toBe("unexpected argument '--dump-events': nlmon takes no positional arguments");
    expect(usageErrorOf(["x.yaml"])).toBe("unexpected argument 'x.yaml': nlmon takes no positional arguments");
  });

  test("unknown options suggest the nearest", () => {
    expect(usageErrorOf(["--dump-evnts"])).toBe("unknown option '--dump-evnts'; did you mean '--dump-events'?");
    expect(usageErrorOf(["--no-such-flag-at-all"])).toBe("unknown option '--no-such-flag-at-all'");
  });

  test("--duration: plain decimal seconds, only with --benchmark", () => {
    expect(parseArgs(["--benchmark", "--duration", "3"]).duration).toBe(3);
    expect(parseArgs(["--benchmark", "--duration=2.5"]).duration).toBe(2.5);
    expect(parseArgs(["--benchmark"]).duration).toBe(10);
    // 0 is the shortest run, a single burst, as the message says
    expect(parseArgs(["--benchmark", "--duration", "0"]).duration).toBe(0);
    expect(parseArgs(["--benchmark", "--duration=0.0"]).duration).toBe(0);
    expect(parseArgs(["--benchmark", "--duration", "86400"]).duration).toBe(86400);
    for (const bad of ["0x10", "1e3", " 5", "5 ", "+5", "-1", "-0", "86401", "86400.5", ".5", "5.", "Infinity", "NaN"]) {
      expect(usageErrorOf(["--benchmark", "--duration", bad])).toBe(`--duration: expected seconds from 0 (a single burst) to 86400, got '${bad}'`);
    }
    expect(usageErrorOf(["--duration", "5"])).toBe("--duration goes with --benchmark");
    expect(usageErrorOf(["--dump-events", "--duration", "5"])).toBe("--duration goes with --benchmark");
  });

  test("--routes: a positive whole number, only with --benchmark, not with --duration or --compare", () => {
    expect(parseArgs(["--benchmark", "--routes", "1000000"]).routes).toBe(1_000_000);
    expect(parseArgs(["--benchmark", "--routes=2000", "--json"])).toMatchObject({ benchmark: true, routes: 2000, json: true });
    expect(parseArgs(["--benchmark", "--routes", "10000000"]).routes).toBe(10_000_000);
    expect(parseArgs(["--benchmark"]).routes).toBeUndefined();
    for (const bad of ["0", "-5", "+5", "1.5", "1e6", "0x10", "1_000", "1,000", " 5", "05", "abc", "10000001", "Infinity"]) {
      expect(usageErrorOf(["--benchmark", "--routes", bad])).toBe(`--routes: expected a whole number of routes from 1 to 10000000, got '${bad}'`);
    }
    expect(usageErrorOf(["--benchmark", "--routes"])).toBe("option '--routes' needs a value (N)");
    expect(usageErrorOf(["--routes", "5"])).toBe("--routes goes with --benchmark");
    for (const other of [["--duration", "3"], ["--compare"]]) {
      expect(usageErrorOf(["--benchmark", "--routes", "5", ...other])).toBe(
        "--routes runs the full-table burst alone (the configured backend beside `ip monitor`): --duration and --compare do not apply",
      );
    }
  });

  test("modes exclude each other; --compare needs --benchmark, --json --benchmark or --status", () => {
    const modes = "--dump-events, --dump-cache, --benchmark, --replay, --test-mode and --status are separate modes: choose one";
    expect(usageErrorOf(["--dump-events", "--replay", "x"])).toBe(modes);
    expect(usageErrorOf(["--test-mode", "--status"])).toBe(modes);
    expect(usageErrorOf(["--status", "--dump-cache"])).toBe(modes);
    expect(usageErrorOf(["--json"])).toBe("--json goes with --benchmark or --status");
    expect(usageErrorOf(["--test-mode", "--json"])).toBe("--json goes with --benchmark or --status");
    expect(usageErrorOf(["--compare"])).toBe("--compare goes with --benchmark");
    expect(parseArgs(["--benchmark", "--compare", "--json"])).toMatchObject({ benchmark: true, compare: true, json: true });
    expect(parseArgs(["--status", "--json"])).toMatchObject({ status: true, json: true });
  });

  test("--test-mode, --status and --namespace", () => {
    expect(parseArgs(["--config", "a.yaml", "--test-mode"])).toMatchObject({ config: "a.yaml", testMode: true });
    expect(parseArgs(["--status"])).toMatchObject({ status: true, json: false });
    expect(parseArgs(["--namespace", "blue"]).namespace).toBe("blue");
    expect(parseArgs(["--namespace=/var/run/netns/red", "--test-mode"])).toMatchObject({ namespace: "/var/run/netns/red", testMode: true });
    expect(usageErrorOf(["--namespace"])).toBe("option '--namespace' needs a value (NAME)");
    expect(usageErrorOf(["--status", "--namespace", "blue"])).toBe("--namespace does not go with --status: the daemon's namespace is set where it runs");
    expect(usageErrorOf(["--test-mod"])).toBe("unknown option '--test-mod'; did you mean '--test-mode'?");
  });
});
