import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG_TEXT, loadConfig } from "../../src/config/load.ts";
import { configNotes } from "../../src/config/lift.ts";
import schema from "../../src/config/schema.json";
import { ROUTE_GROUPS } from "../../src/families/route/index.ts";
import { LOG_LEVELS, LOG_MODULES, RTNL_GROUP_NAMES, SOCK_DIAG_STATES, SYSLOG_FACILITIES, type NlmonConfig } from "../../src/config/types.ts";

const EXPECTED_DEFAULTS: NlmonConfig = {
  netlink: {
    use_libnl: true,
    namespace: "",
    namespaces: "",
    protocols: { route: true, generic: false, sock_diag: false, netfilter: false },
    buffer_size: { receive: 33554432, send: 32768 },
    libnl: { library: "", fallback: "none" },
    caching: { enabled: true, link_cache: true, addr_cache: true, route_cache: false, conntrack_cache: false },
    generic_families: [],
    netfilter: { conntrack: true, expectations: false, nftables: true, dump_on_start: false, enable_accounting: false },
    sock_diag: { interval: 5, protocols: ["tcp", "udp"], states: ["all"], ports: [], unix: false, destroy_events: true },
    multicast_groups: [],
    limits: { max_message_size: 65536, message_pool_size: 1024 },
  },
  logging: { level: "info", modules: {}, target: "stderr" },
  monitoring: { resource_tracking: false },
  filter: "",
  filters: {},
  export: {
    json: { enabled: true, filter: "", file: "-", pretty: false, queue_size: 65536, rotate: { max_size: 0, keep: 5, compress: false } },
    syslog: {
      enabled: false, filter: "", transport: "unix", path: "/dev/log", host: "", port: 514, format: "rfc5424",
      facility: "daemon", app_name: "nlmon", max_message_size: 2048, queue_size: 16384,
    },
    prometheus: { enabled: false, address: "0.0.0.0", port: 9090, path: "/metrics" },
    pcap: { enabled: false, filter: "", file: "", queue_size: 65536, rotate: { max_size: 0, keep: 5 } },
  },
  hooks: [],
  alerts: [],
  control: { enabled: true, socket: "" },
};

/** the ConfigError message, or a failure if loading succeeded */
function errorOf(opts: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("an empty document gets every default", () => {
    expect(loadConfig({ text: "", env: {} })).toEqual(EXPECTED_DEFAULTS);
  });

  test("partial sections are completed", () => {
    const cfg = loadConfig({ text: "netlink:\n  protocols:\n    generic: true\n", env: {} });
    expect(cfg.netlink.protocols).toEqual({ route: true, generic: true, sock_diag: false, netfilter: false });
    expect(cfg.export.syslog.port).toBe(514);
  });

  test("the embedded default loads and equals the schema defaults", () => {
    expect(DEFAULT_CONFIG_TEXT).toContain("use_libnl: ${NLMON_USE_LIBNL:-true}");
    expect(loadConfig({ env: {} })).toEqual(EXPECTED_DEFAULTS);
  });

  test("enum lists in types.ts match the schema", () => {
    const p = schema.properties;
    expect(p.logging.properties.level.enum).toEqual([...LOG_LEVELS]);
    expect(p.netlink.properties.multicast_groups.items.enum).toEqual([...RTNL_GROUP_NAMES]);
    // exactly the groups nlmon decodes: joining any other would bring messages it cannot read
    expect([...RTNL_GROUP_NAMES].sort() as string[]).toEqual(Object.keys(ROUTE_GROUPS).sort());
    expect(p.export.properties.syslog.properties.facility.enum).toEqual([...SYSLOG_FACILITIES]);
    expect(p.netlink.properties.sock_diag.properties.states.items.enum).toEqual([...SOCK_DIAG_STATES]);
    expect(p.logging.properties.modules.propertyNames.enum).toEqual([...LOG_MODULES]);
  });

  test("results do not share default objects", () => {
    const a = loadConfig({ text: "", env: {} });
    a.netlink.generic_families.push("nl80211");
    expect(loadConfig({ text: "", env: {} }).netlink.generic_families).toEqual([]);
  });
});

describe("environment substitution", () => {
  test("${VAR} and ${VAR:-default}", () => {
    const text = [
      "netlink:",
      "  use_libnl: ${USE:-true}",
      "  libnl:",
      "    library: ${LIB}",
      "export:",
      "  syslog:",
      "    port: ${PORT:-601}",
      "    app_name: ${APP:-123}",
      "",
    ].join("\n");
    const cfg = loadConfig({ text, env: { LIB: "/opt/libnl-tiny.so" } });
    expect(cfg.netlink.use_libnl).toBe(true);
    expect(cfg.netlink.libnl.library).toBe("/opt/libnl-tiny.so");
    expect(cfg.export.syslog.port).toBe(601);
    // a string field keeps digits as text
    expect(cfg.export.syslog.app_name).toBe("123");

    const cfg2 = loadConfig({ text, env: { USE: "false", LIB: "x", PORT: "1514", APP: "" } });
    expect(cfg2.netlink.use_libnl).toBe(false);
    expect(cfg2.export.syslog.port).toBe(1514);
    // empty counts as unset for :-
    expect(cfg2.export.syslog.app_name).toBe("123");
  });

  test("substitution inside a longer string, and the $${ escape", () => {
    const cfg = loadConfig({
      text: 'export:\n  json:\n    file: /var/log/${HOST}/$${literal}.json\n',
      env: { HOST: "r1" },
    });
    expect(cfg.export.json.file).toBe("/var/log/r1/${literal}.json");
  });

  test("an unset variable without default is located and named", () => {
    const msg = errorOf({ path: "site.yaml", text: "netlink:\n  libnl:\n    library: /x/${NOPE}\n", env: {} });
    expect(msg).toBe("site.yaml:3:17: environment variable NOPE is not set (use ${NOPE:-default} to give a default)");
  });

  test("a substituted value of the wrong type is reported at its line", () => {
    const msg = errorOf({ text: "export:\n  prometheus:\n    port: ${P}\n", env: { P: "http" } });
    expect(msg).toBe('<text>:3:11: export.prometheus.port: must be integer, got "http"');
  });
});

describe("validation messages", () => {
  test("misspelled key: location and suggestion", () => {
    const msg = errorOf({ path: "/etc/nlmon/nlmon.yaml", text: "netlink:\n  protocls:\n    route: true\n", env: {} });
    expect(msg).toBe("/etc/nlmon/nlmon.yaml:2:3: netlink.protocls: unknown key; did you mean 'protocols'?");
  });

  test("a key of the netlink section written at the top level (as the guide's fragments are) is that key, with a note", () => {
    const cfg = loadConfig({ path: "g.yaml", text: "caching:\n  enabled: false\nuse_libnl: false\n", env: {} });
    expect(cfg.netlink.caching.enabled).toBe(false);
    expect(cfg.netlink.use_libnl).toBe(false);
    expect(configNotes(cfg).map((n) => n.text)).toEqual([
      "g.yaml:1:1: caching at the top level is read as netlink.caching",
      "g.yaml:3:1: use_libnl at the top level is read as netlink.use_libnl",
    ]);
    // beside a netlink section that lacks it, too; its mistakes are located where they are written
    expect(loadConfig({ text: "netlink:\n  use_libnl: false\nbuffer_size:\n  receive: 65536\n", env: {} }).netlink.buffer_size.receive).toBe(65536);
    expect(errorOf({ text: "buffer_size:\n  receive: 100\n", env: {} })).toBe("<text>:2:12: netlink.buffer_size.receive: must be >= 4096, got 100");
  });

  test("a netlink key written both at the top level and under netlink is an error", () => {
    expect(errorOf({ text: "netlink:\n  caching: {enabled: true}\ncaching:\n  enabled: false\n", env: {} })).toBe(
      "<text>:3:1: caching: written both at the top level and under netlink; keep one (at the top level it means netlink.caching)",
    );
  });

  test("a key at the wrong level that is no netlink key still points to where it belongs", () => {
    expect(errorOf({ text: "netlink:\n  level: debug\n", env: {} })).toBe(
      "<text>:2:3: netlink.level: unknown key; did you mean 'logging.level'?",
    );
  });

  test("an unknown key with nothing close lists the allowed keys", () => {
    expect(errorOf({ text: "monitoring:\n  zzz: 1\n", env: {} })).toBe(
      "<text>:2:3: monitoring.zzz: unknown key (allowed: resource_tracking)",
    );
  });

  test("wrong type", () => {
    const msg = errorOf({ path: "c.yaml", text: "netlink:\n  buffer_size:\n    receive: abc\n", env: {} });
    expect(msg).toBe('c.yaml:3:14: netlink.buffer_size.receive: must be integer, got "abc"');
  });

  test("a section given as a scalar", () => {
    expect(errorOf({ text: "logging: loud\n", env: {} })).toBe('<text>:1:10: logging: must be a mapping, got "loud"');
  });

  test("unknown enum value lists the allowed values", () => {
    const msg = errorOf({ text: "logging:\n  level: verbose\n", env: {} });
    expect(msg).toBe('<text>:2:10: logging.level: must be one of error, warn, info, debug, trace, got "verbose"');
    const msg2 = errorOf({ text: "export:\n  syslog:\n    transport: tpc\n", env: {} });
    expect(msg2).toBe('<text>:3:16: export.syslog.transport: must be one of unix, udp, tcp, got "tpc"; did you mean \'tcp\'?');
  });

  test("range and array item errors", () => {
    const msg = errorOf({ text: "netlink:\n  buffer_size: {receive: 100}\n  multicast_groups: [link, link]\n", env: {} });
    expect(msg.split("\n")).toEqual([
      "<text>:2:26: netlink.buffer_size.receive: must be >= 4096, got 100",
      "<text>:3:28: netlink.multicast_groups[1]: duplicate of netlink.multicast_groups[0]",
    ]);
  });

  test("all errors are reported, one per line, in file order", () => {
    const text = ["export:", "  syslog:", "    port: 0", "logging:", "  levle: info", "netlink:", "  use_libnl: maybe", ""].join("\n");
    let err: unknown;
    try {
      loadConfig({ path: "f.yaml", text, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const lines = [
      "f.yaml:3:11: export.syslog.port: must be >= 1, got 0",
      "f.yaml:5:3: logging.levle: unknown key; did you mean 'level'?",
      'f.yaml:7:14: netlink.use_libnl: must be boolean, got "maybe"',
    ];
    expect((err as ConfigError).message).toBe(lines.join("\n"));
    expect((err as ConfigError).problems).toEqual(lines);
  });
});

describe("NLMON_* overrides", () => {
  test("NLMON_USE_LIBNL overrides the file both ways", () => {
    const on = "netlink:\n  use_libnl: true\n";
    const off = "netlink:\n  use_libnl: false\n";
    expect(loadConfig({ text: on, env: { NLMON_USE_LIBNL: "false" } }).netlink.use_libnl).toBe(false);
    expect(loadConfig({ text: on, env: { NLMON_USE_LIBNL: "0" } }).netlink.use_libnl).toBe(false);
    expect(loadConfig({ text: off, env: { NLMON_USE_LIBNL: "true" } }).netlink.use_libnl).toBe(true);
    expect(loadConfig({ text: off, env: { NLMON_USE_LIBNL: "YES" } }).netlink.use_libnl).toBe(true);
    expect(loadConfig({ text: off, env: { NLMON_USE_LIBNL: "" } }).netlink.use_libnl).toBe(false);
  });

  test("the shipped file follows NLMON_USE_LIBNL through substitution too", () => {
    expect(loadConfig({ env: { NLMON_USE_LIBNL: "no" } }).netlink.use_libnl).toBe(false);
    expect(loadConfig({ env: { NLMON_USE_LIBNL: "1" } }).netlink.use_libnl).toBe(true);
  });

  test("an invalid NLMON_USE_LIBNL is an error naming the variable", () => {
    expect(errorOf({ env: { NLMON_USE_LIBNL: "maybe" } })).toBe(
      'NLMON_USE_LIBNL: must be one of true, false, 1, 0, yes, no, got "maybe"',
    );
  });

  test("NLMON_LIBNL_PATH overrides netlink.libnl.library", () => {
    const text = "netlink:\n  libnl:\n    library: /from/file.so\n";
    expect(loadConfig({ text, env: { NLMON_LIBNL_PATH: "/from/env.so" } }).netlink.libnl.library).toBe("/from/env.so");
    expect(loadConfig({ text, env: {} }).netlink.libnl.library).toBe("/from/file.so");
  });
});

describe("cross-field checks", () => {
  test("rotation of stdout", () => {
    expect(errorOf({ text: "export:\n  json:\n    rotate:\n      max_size: 1048576\n", env: {} })).toBe(
      '<text>:4:17: export.json.rotate.max_size: rotation needs a file, but export.json.file is "-" (stdout)',
    );
    const cfg = loadConfig({ text: "export:\n  json:\n    file: /var/log/nlmon.json\n    rotate: {max_size: 1048576}\n", env: {} });
    expect(cfg.export.json.rotate.max_size).toBe(1048576);
  });

  test("syslog over udp/tcp needs a host (only when enabled)", () => {
    const text = "export:\n  syslog:\n    enabled: true\n    transport: udp\n";
    expect(errorOf({ text, env: {} })).toBe("<text>:4:16: export.syslog.host: required for transport udp");
    expect(loadConfig({ text: text + "    host: logs.example\n", env: {} }).export.syslog.host).toBe("logs.example");
    expect(loadConfig({ text: text.replace("true", "false"), env: {} }).export.syslog.enabled).toBe(false);
  });

  test("prometheus port range", () => {
    expect(errorOf({ text: "export:\n  prometheus: {port: 70000}\n", env: {} })).toBe(
      "<text>:2:22: export.prometheus.port: must be <= 65535, got 70000",
    );
  });

  test("pcap needs a file when enabled", () => {
    expect(errorOf({ text: "export:\n  pcap:\n    enabled: true\n", env: {} })).toBe(
      "<text>:3:14: export.pcap.file: required when export.pcap.enabled is true",
    );
  });

  test("an export file's directory must exist or be one nlmon can make (only when enabled)", () => {
    const base = mkdtempSync(join(tmpdir(), "nlmon-cfg-dir-"));
    writeFileSync(join(base, "plain"), "");
    const json = (file: string, enabled = true) => ({ text: `export:\n  json:\n    enabled: ${enabled}\n    file: ${file}\n`, env: {} });
    // the last directory is made when the export opens the file
    expect(loadConfig(json(join(base, "events.json"))).export.json.file).toBe(join(base, "events.json"));
    expect(loadConfig(json(join(base, "new", "events.json"))).export.json.file).toBe(join(base, "new", "events.json"));
    expect(errorOf(json(join(base, "a", "b", "events.json")))).toBe(
      `<text>:4:11: export.json.file: directory ${base}/a/b does not exist, nor does ${base}/a (nlmon makes only the last directory)`,
    );
    expect(errorOf(json(join(base, "plain", "events.json")))).toBe(`<text>:4:11: export.json.file: ${base}/plain: not a directory`);
    expect(errorOf(json(join(base, "plain", "x", "events.json")))).toBe(
      `<text>:4:11: export.json.file: directory ${base}/plain/x does not exist and cannot be made: ${base}/plain: not a directory`,
    );
    expect(loadConfig(json(join(base, "a", "b", "events.json"), false)).export.json.enabled).toBe(false);
    const pcap = `export:\n  pcap: { enabled: true, file: ${join(base, "a", "b", "x.pcap")} }\n`;
    expect(errorOf({ text: pcap, env: {} })).toMatch(/^<text>:2:32: export\.pcap\.file: directory .*\/a\/b does not exist, nor does/);
  });

  test("at least one protocol", () => {
    expect(errorOf({ text: "netlink:\n  protocols:\n    route: false\n", env: {} })).toBe(
      "<text>:3:5: netlink.protocols: at least one protocol must be enabled",
    );
  });
});

describe("syntax and files", () => {
  test("YAML syntax error is located", () => {
    const msg = errorOf({ path: "bad.yaml", text: "netlink:\n  use_libnl: true\n protocols: 1\n", env: {} });
    expect(msg).toBe("bad.yaml:3:1: All mapping items must start at the same column");
    expect(errorOf({ text: "filter: a: b\n", env: {} })).toBe(
      "<text>:1:9: Nested mappings are not allowed in compact mappings",
    );
  });

  test("duplicate keys are syntax errors", () => {
    expect(errorOf({ text: "filter: a\nfilter: b\n", env: {} })).toMatch(/^<text>:2:1: Map keys must be unique/);
  });

  test("a file is read and named in messages", () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-config-"));
    const file = join(dir, "nlmon.yaml");
    writeFileSync(file, "logging:\n  level: debug\n");
    expect(loadConfig({ path: file, env: {} }).logging.level).toBe("debug");
    writeFileSync(file, "logging:\n  level: loud\n");
    expect(errorOf({ path: file, env: {} })).toStartWith(`${file}:2:10: logging.level: must be one of`);
  });

  test("missing or unreadable file", () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-config-"));
    const missing = join(dir, "absent.yaml");
    expect(errorOf({ path: missing, env: {} })).toBe(`${missing}: cannot read: ENOENT: no such file or directory`);
    expect(errorOf({ path: dir, env: {} })).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: cannot read: EISDIR`));
  });
});

describe("hostile and odd input", () => {
  test("an alias bomb is refused at its first alias, not expanded", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"], ["h", "g"], ["i", "h"], ["j", "i"]]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    expect(errorOf({ path: "bomb.yaml", text: lines.join("\n") + "\n", env: {} })).toBe(
      "bomb.yaml:2:8: YAML aliases expand to too many nodes (more than 100 copies of anchored content); write the values out instead",
    );
  });

  test("a few ordinary aliases still work", () => {
    const cfg = loadConfig({ text: "logging:\n  level: &l debug\n  modules: {netlink: *l, export: *l}\n", env: {} });
    expect(cfg.logging.modules).toEqual({ netlink: "debug", export: "debug" });
  });

  test("a binary file is refused by its first NUL byte, not echoed", () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmon-config-"));
    const file = join(dir, "g.yaml");
    const junk = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff || 1);
    junk[1234] = 0;
    writeFileSync(file, junk);
    expect(errorOf({ path: file, env: {} })).toBe(`${file}: not a text file (NUL byte at offset 1234)`);
    expect(errorOf({ text: "filter: a\0b\n", env: {} })).toBe("<text>: not a text file (NUL character at offset 9)");
  });

  test("long values and keys are cut short in messages", () => {
    const long = "x".repeat(500);
    expect(errorOf({ text: `logging:\n  level: ${long}\n`, env: {} })).toBe(
      `<text>:2:10: logging.level: must be one of error, warn, info, debug, trace, got "${"x".repeat(60)}…"`,
    );
    expect(errorOf({ text: `${long}: 1\n`, env: {} })).toBe(
      `<text>:1:1: ${"x".repeat(60)}…: unknown key (allowed: netlink, logging, monitoring, filter, filters, export, hooks, alerts, control)`,
    );
    // a whole junk file parsed as one scalar: one short line
    expect(errorOf({ text: "\u0001".repeat(4000) + "\n", env: {} })).toBe(
      `<text>:1:1: top level: must be a mapping, got "${"\\u0001".repeat(10)}…"`,
    );
  });

  test("tags of other YAML schemas are refused where they are written", () => {
    expect(errorOf({ path: "t.yaml", text: "!!binary aGVsbG8=\n", env: {} })).toBe(
      "t.yaml:1:1: unsupported YAML tag !!binary (nlmon settings take plain values; remove the tag)",
    );
    expect(errorOf({ text: "netlink: !!set {a, b}\n", env: {} })).toBe(
      "<text>:1:10: unsupported YAML tag !!set (nlmon settings take plain values; remove the tag)",
    );
    expect(errorOf({ text: 'netlink: !!js/function "function () {}"\n', env: {} })).toBe(
      "<text>:1:10: unsupported YAML tag !!js/function (nlmon settings take plain values; remove the tag)",
    );
    expect(errorOf({ text: "filter: !custom x\n", env: {} })).toBe(
      "<text>:1:9: unsupported YAML tag !custom (nlmon settings take plain values; remove the tag)",
    );
    expect(errorOf({ text: "logging:\n  level: !!timestamp 2001-01-01\n", env: {} })).toBe(
      "<text>:2:10: unsupported YAML tag !!timestamp (nlmon settings take plain values; remove the tag)",
    );
  });

  test("the core schema's own tags still work", () => {
    const cfg = loadConfig({ text: "netlink: !!map\n  buffer_size: {receive: !!int '8192'}\nfilter: !!str ''\n", env: {} });
    expect(cfg.netlink.buffer_size.receive).toBe(8192);
  });

  test("a tag that arrives through a variable stays text", () => {
    expect(errorOf({ text: "netlink:\n  buffer_size: {receive: '${R}'}\n", env: { R: "!!binary aGVsbG8=" } })).toBe(
      '<text>:2:26: netlink.buffer_size.receive: must be integer, got "!!binary aGVsbG8="',
    );
  });

  test("a second YAML document is refused at its '---'", () => {
    expect(errorOf({ path: "two.yaml", text: "logging: {level: info}\n---\nfilter: x\n", env: {} })).toBe(
      "two.yaml:2:1: only one YAML document is allowed (remove the '---' line)",
    );
    // a leading '---' is just the start of the one document
    expect(loadConfig({ text: "---\nlogging: {level: warn}\n", env: {} }).logging.level).toBe("warn");
  });

  test("a value of the wrong type reports only the type, not its range too", () => {
    expect(errorOf({ text: "netlink:\n  buffer_size: {receive: 1.5}\n", env: {} })).toBe(
      "<text>:2:26: netlink.buffer_size.receive: must be integer, got 1.5",
    );
    expect(errorOf({ text: "export:\n  prometheus: {port: 70000.5}\n", env: {} })).toBe(
      "<text>:2:22: export.prometheus.port: must be integer, got 70000.5",
    );
  });

  test("a filter syntax error is located at the filter", () => {
    expect(errorOf({ path: "f.yaml", text: "logging: {level: info}\nfilter: 'type =='\n", env: {} })).toBe(
      'f.yaml:2:17: filter: expected a value at column 8 of "type =="',
    );
    expect(loadConfig({ text: "filter: 'type == \"route\"'\n", env: {} }).filter).toBe('type == "route"');
  });

  test("multicast groups are the ones nlmon decodes", () => {
    expect(errorOf({ path: "m.yaml", text: "netlink:\n  multicast_groups: [link, tc]\n", env: {} })).toBe(
      'm.yaml:2:28: netlink.multicast_groups[1]: must be one of ' + RTNL_GROUP_NAMES.join(", ") + ', got "tc"',
    );
    expect(loadConfig({ text: "netlink:\n  multicast_groups: [link, nsid, nexthop]\n", env: {} }).netlink.multicast_groups).toEqual(
      ["link", "nsid", "nexthop"],
    );
  });
});

describe("generic_families with groups", () => {
  const text = (items: string) => `netlink:\n  protocols: { generic: true }\n  generic_families:\n${items}`;
  test("a name joins every group; {name, groups} keeps its groups aside and the family as a name", () => {
    const cfg = loadConfig({ text: text("    - nl80211\n    - { name: ethtool, groups: [monitor] }\n    - name: mptcp_pm\n"), env: {} });
    expect(cfg.netlink.generic_families).toEqual(["nl80211", "ethtool", "mptcp_pm"]);
    expect(cfg.netlink.generic_groups).toEqual({ ethtool: ["monitor"] });
  });

  test("without any groups listed there is no generic_groups", () => {
    expect(loadConfig({ text: text("    - nl80211\n"), env: {} }).netlink.generic_groups).toBeUndefined();
  });

  test("mistakes are located: a stray key, a number, a group that is not a name", () => {
    const bad = text("    - nl80211\n    - { name: nl80211, groups: [mlme] }\n    - { name: ethtool, grups: [monitor] }\n    - 42\n    - { name: x, groups: [1] }\n");
    expect(errorOf({ text: bad, path: "f.yaml", env: {} }).split("\n")).toEqual([
      "f.yaml:6:24: netlink.generic_families[2].grups: unknown key; did you mean 'groups'?",
      "f.yaml:7:7: netlink.generic_families[3]: must be string or a mapping, got 42",
      "f.yaml:8:27: netlink.generic_families[4].groups[0]: must be string, got 1",
    ]);
  });

  test("a family listed twice (a name and a {name, groups}) is an error at the second", () => {
    const twice = text("    - nl80211\n    - { name: nl80211, groups: [mlme] }\n");
    expect(errorOf({ text: twice, path: "f.yaml", env: {} })).toBe("f.yaml:5:7: netlink.generic_families[1]: 'nl80211' is already listed (item 1); write it once");
  });
});
