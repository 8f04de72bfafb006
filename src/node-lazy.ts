/**
 * Node's file and name-service modules, loaded on first use. `bun build --compile` bundles every
 * module into one file and loads each built-in it imports when the binary starts, whatever mode
 * runs: node:fs, node:fs/promises and node:dns (with node:events under them) were 40 ms of the
 * 52 ms `nlmon --version` took (a compiled hello world takes 10), and node:path alone, once they
 * were gone, 24 ms (its argument validators). Modules reach them through these functions
 * instead of importing them.
 */
type Fs = typeof import("node:fs");
type Fsp = typeof import("node:fs/promises");
type Dns = typeof import("node:dns/promises");
type Path = typeof import("node:path");
type Os = typeof import("node:os");

let fsM: Fs | undefined;
let fspM: Fsp | undefined;
let dnsM: Dns | undefined;
let pathM: Path | undefined;
let osM: Os | undefined;

export const fs = (): Fs => (fsM ??= require("node:fs") as Fs);
export const fsp = (): Fsp => (fspM ??= require("node:fs/promises") as Fsp);
export const dns = (): Dns => (dnsM ??= require("node:dns/promises") as Dns);
export const path = (): Path => (pathM ??= require("node:path") as Path);
export const os = (): Os => (osM ??= require("node:os") as Os);
