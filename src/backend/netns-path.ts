/**
 * Where a configured network namespace lives, and the words for one that is not there. Kept free
 * of imports so the config loader can check the setting where it is written without loading the
 * FFI (src/backend/netns.ts enters the namespace).
 */

/** `ip netns add NAME` bind-mounts the namespace here */
export const NETNS_RUN_DIR = "/run/netns";

/** a bare name is one of iproute2's named namespaces; anything with a slash is a file's path */
export function namespacePath(spec: string): string {
  return spec.includes("/") ? spec : `${NETNS_RUN_DIR}/${spec}`;
}

/** what is wrong with the spelling itself, before any file is looked at */
export function namespaceSpecProblem(spec: string): string | undefined {
  if (spec === "." || spec === "..") return `'${spec}' is not a namespace name (a name under ${NETNS_RUN_DIR}, or a path such as /proc/PID/ns/net)`;
  if (spec.includes("\0")) return "a namespace name cannot hold a NUL character";
  return undefined;
}

export function missingNamespace(spec: string): string {
  return `no such namespace '${spec}' (${namespacePath(spec)})`;
}
