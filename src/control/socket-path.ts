/**
 * Where the control socket lives when `control.socket` is empty. The daemon and `nlmon --status`
 * must arrive at the same path on their own, so the rule depends only on who runs nlmon.
 */

/**
 * root: /run/nlmon/nlmon.sock. Anyone else: $XDG_RUNTIME_DIR/nlmon.sock, their login session's
 * runtime directory. A service without a session (systemd's DynamicUser has no XDG_RUNTIME_DIR)
 * falls back to /run/nlmon/nlmon.sock, which `RuntimeDirectory=nlmon` gives it, so root's
 * `nlmon --status` finds the service without being told where.
 */
export function controlSocketPath(configured: string, env: Record<string, string | undefined> = process.env,
  uid: number = process.getuid?.() ?? 0): string {
  if (configured) return configured;
  if (uid !== 0 && env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR.replace(/\/+$/, "")}/nlmon.sock`;
  return "/run/nlmon/nlmon.sock";
}
