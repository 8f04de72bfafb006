/**
 * The config file as the daemon holds it: parsed, and the sha256 of exactly the bytes parsed, so
 * --status can say which version of the file is in force (an edit not yet reloaded shows as a
 * different hash from `sha256sum`).
 */
import type { NlmonConfig } from "../config/types.ts";
import { withReluctantJit } from "../ffi/footprint.ts";
import { fs } from "../node-lazy.ts";
import type { ConfigInForce } from "./status.ts";

/** Read and parse `path`; throws the loader's ConfigError, located, for anything wrong with it. */
export async function readConfigFile(path: string, env: Record<string, string | undefined> = process.env): Promise<ConfigInForce> {
  const { loadConfig } = await import("../config/load.ts");
  let bytes: Buffer;
  try {
    bytes = fs().readFileSync(path);
  } catch {
    // the loader reads it again to say why it cannot, in the words it uses for every config error
    loadConfig({ path, env });
    throw new Error(`${path}: cannot read`);
  }
  const cfg: NlmonConfig = await withReluctantJit(() => loadConfig({ path, text: bytes.toString("utf8"), env }));
  return { cfg, path, sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex"), loadedAt: Date.now() };
}
