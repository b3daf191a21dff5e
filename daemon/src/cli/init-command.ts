import { join, relative, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import type { CreatedToken } from '@dcs/shared';
import { initStore } from '../lifecycle/init-store.js';
import { ensureDataDir, type StorePaths } from '../lifecycle/store-paths.js';
import { writeTokenFile } from '../lifecycle/token-file.js';
import { type CliIo } from './io.js';
import { pathsFromOptions, STORE_OPTIONS } from './store-options.js';

/** Where a new store's first admin token is written (0600), unless --print-token. */
export const ADMIN_TOKEN_FILE = 'initial-admin.token';

/** Help text of `scalr-credd init`. */
export const INIT_HELP = `Usage: scalr-credd init [--data-dir DIR] [--store URL] [--root-key-file FILE] [--print-token] [--json]

Creates a new store: the data dir (0700), a root key file (0600), the encrypted database, and the
first admin token, written to DIR/${ADMIN_TOKEN_FILE} (0600) and not printed, so that logs and
terminals that are recorded never hold it. Refuses to overwrite an existing store.

  --data-dir DIR        default $SCALR_CREDD_DATA_DIR, $XDG_DATA_HOME/scalr-credd or ~/.local/share/scalr-credd
  --store URL           a PostgreSQL store (postgres://USER@HOST/DB, also SCALR_CREDD_STORE) instead of
                        DIR's SQLite file: creates its schema (under an advisory lock; an initialised
                        database is refused) and keys; copy the root key file to every daemon's host
  --root-key-file FILE  default DIR/root.key
  --print-token         print the admin token on stdout instead of writing the file
  --json                print {"adminTokenFile": "...", "dataDir": "..."}
                        ({"adminToken": "...", "dataDir": "..."} with --print-token)
`;

/** Runs `scalr-credd init`. */
export async function runInit(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STORE_OPTIONS, 'print-token': { type: 'boolean' }, json: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) return (io.stdout(INIT_HELP), 0);
  const paths = pathsFromOptions(values, io);
  if (paths.storeUrl !== undefined) ensureDataDir(paths.dataDir, true);
  const handOver = handOverAdminToken(paths, await initStore(paths), values['print-token'] ?? false);
  if (values.json) {
    const where = handOver.file === undefined ? { adminToken: handOver.token.token } : { adminTokenFile: handOver.file };
    io.stdout(`${JSON.stringify({ ...where, dataDir: paths.dataDir })}\n`);
    io.stderr(rootKeyAdvice(paths));
  } else {
    io.stdout(initBanner(paths, handOver, `unix:${paths.socketPath}`));
  }
  return 0;
}

/** The first admin token, and the file it was written to (undefined when it is to be printed). */
export interface AdminTokenHandOver {
  token: CreatedToken;
  file: string | undefined;
}

/** Writes a new store's admin token to DIR/initial-admin.token (0600), unless it is to be printed. */
export function handOverAdminToken(paths: StorePaths, token: CreatedToken, print: boolean): AdminTokenHandOver {
  if (print) return { token, file: undefined };
  const file = join(paths.dataDir, ADMIN_TOKEN_FILE);
  writeTokenFile(file, token.token);
  return { token, file };
}

/**
 * What to do about a root key created inside the data dir (the default, kept so that existing stores
 * open as before): a copy of the data dir would hold the key beside the ciphertext it opens. Empty
 * when the key file lies elsewhere.
 */
export function rootKeyAdvice(paths: StorePaths): string {
  const inside = relative(paths.dataDir, paths.rootKeyPath);
  if (inside.startsWith('..') || isAbsolute(inside)) return '';
  return `WARNING: the root key was created INSIDE the data dir: ${paths.rootKeyPath}
A copy of the data dir (a backup, a snapshot, a disk image) then holds the key beside the ciphertext
it opens. Stop the daemon, move the key out to a directory only the daemon's user can read, and
start it with --root-key-file (or SCALR_CREDD_ROOT_KEY_FILE), e.g.:
    install -d -m 0700 ~/.config/scalr-credd
    mv ${paths.rootKeyPath} ~/.config/scalr-credd/root.key
    scalr-credd serve --data-dir ${paths.dataDir} --root-key-file ~/.config/scalr-credd/root.key
Keep a copy of the key apart from the backups: without it nothing in the store can be opened.
Next time, give --root-key-file to init (or to the first serve) to create it there.

`;
}

/** What a new store prints once: where it is, where the admin token is (or the token), and what to do next. */
export function initBanner(paths: StorePaths, handOver: AdminTokenHandOver, url: string): string {
  const where =
    handOver.file === undefined
      ? `Admin token (shown once; keep it somewhere safe):

    ${handOver.token.token}`
      : `Admin token written to ${handOver.file} (mode 0600; it is not printed).
Move it somewhere safe (a password manager), then delete the file.`;
  const tokenEnv = handOver.file === undefined ? 'SCALR_CREDD_TOKEN=<the admin token above>' : `SCALR_CREDD_TOKEN_FILE=${handOver.file}`;
  return `scalr-credd: created a new store in ${paths.dataDir}

${where}

${rootKeyAdvice(paths)}Next steps (from a checkout, run the commands as npx scalr-credd and npx docker-credential-scalr):
  1. Point the admin CLI at the daemon:
       export SCALR_CREDD_URL=${url}
       export ${tokenEnv}
  2. Store a registry credential (the secret is read from stdin, never from an argument):
       printf '%s' "$REGISTRY_PAT" | scalr-credd integration add --host ghcr.io --username my-user
  3. Mint a short-lived runner token limited to that host:
       scalr-credd token create --name ci-runner --role runner --ttl 3600 --host ghcr.io
  4. On the runner, with SCALR_CREDD_URL and SCALR_CREDD_TOKEN (the runner token) set:
       docker-credential-scalr configure          # writes credHelpers into ~/.docker/config.json
       echo ghcr.io | docker-credential-scalr get # docker, skopeo, podman and tofu now ask the daemon

`;
}
