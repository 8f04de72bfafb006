/**
 * Whether an export file's directory exists or can be made. Checked with the config, so a path
 * that can never be written is a located error at start instead of a write retried for ever; the
 * export itself makes the directory when it opens the file (src/export/file-sink.ts).
 */
import { fs, path } from "../node-lazy.ts";

/** "dir", "missing", or what else stands there */
function look(p: string): string {
  try {
    return fs().statSync(p).isDirectory() ? "dir" : "not a directory";
  } catch (e) {
    const code = (e as { code?: string }).code;
    // ENOTDIR: a file stands where a directory above it should be, so this one is not there either
    return code === "ENOENT" || code === "ENOTDIR" ? "missing" : (code ?? String(e));
  }
}

/** why `file`'s directory can be neither found nor made (one level only), or undefined */
export function exportDirProblem(file: string): string | undefined {
  const dir = path().dirname(file);
  const d = look(dir);
  if (d === "dir") return undefined;
  if (d !== "missing") return `${dir}: ${d}`;
  const parent = path().dirname(dir);
  const p = look(parent);
  if (p === "missing") return `directory ${dir} does not exist, nor does ${parent} (nlmon makes only the last directory)`;
  if (p !== "dir") return `directory ${dir} does not exist and cannot be made: ${parent}: ${p}`;
  try {
    fs().accessSync(parent, fs().constants.W_OK | fs().constants.X_OK);
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    return `directory ${dir} does not exist and cannot be made in ${parent} (${code})`;
  }
  return undefined;
}
