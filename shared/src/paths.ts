/**
 * Default locations both processes agree on, so that a helper with no configuration finds a daemon
 * started with none. Pure: the caller passes the environment and the home directory.
 */

/** Returns the daemon's default data dir: `$XDG_DATA_HOME/scalr-credd` or `~/.local/share/scalr-credd`. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const xdg = env['XDG_DATA_HOME'];
  const base = xdg && xdg.startsWith('/') ? xdg : `${homeDir}/.local/share`;
  return `${base}/scalr-credd`;
}

/** The Unix socket file name inside a data dir. */
export const SOCKET_FILE_NAME = 'credd.sock';

/** Returns the daemon URL (`unix:PATH`) a helper uses when `SCALR_CREDD_URL` is not set. */
export function defaultDaemonUrl(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const dataDir = env['SCALR_CREDD_DATA_DIR'] || defaultDataDir(env, homeDir);
  return `unix:${dataDir}/${SOCKET_FILE_NAME}`;
}

/** Reads a whole text file (UTF-8) synchronously; throws the fs error. Injected so loaders stay pure. */
export type ReadTextFile = (path: string) => string;
