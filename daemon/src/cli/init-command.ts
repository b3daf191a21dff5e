import { parseArgs } from 'node:util';
import type { CreatedToken } from '@dcs/shared';
import { loadDaemonConfig } from '../daemon-config.js';
import { initStore } from '../lifecycle/init-store.js';
import { type StorePaths } from '../lifecycle/store-paths.js';
import { type CliIo } from './io.js';

/** Help text of `scalr-credd init`. */
export const INIT_HELP = `Usage: scalr-credd init [--data-dir DIR] [--root-key-file FILE] [--json]

Creates a new store: the data dir (0700), a root key file (0600), the encrypted database, and
the first admin token, printed once. Refuses to overwrite an existing store.

  --data-dir DIR        default $SCALR_CREDD_DATA_DIR, $XDG_DATA_HOME/scalr-credd or ~/.local/share/scalr-credd
  --root-key-file FILE  default DIR/root.key
  --json                print {"adminToken": "...", "dataDir": "..."}
`;

/** Runs `scalr-credd init`. */
export function runInit(args: string[], io: CliIo): number {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'root-key-file': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return (io.stdout(INIT_HELP), 0);
  const config = loadDaemonConfig({ dataDir: values['data-dir'], rootKeyFile: values['root-key-file'] }, io.env, io.homeDir);
  const token = initStore(config.paths);
  if (values.json) {
    io.stdout(`${JSON.stringify({ adminToken: token.token, dataDir: config.paths.dataDir })}\n`);
  } else {
    io.stdout(initBanner(config.paths, token, `unix:${config.paths.socketPath}`));
  }
  return 0;
}

/** What a new store prints once: where it is, the admin token, and what to do next. */
export function initBanner(paths: StorePaths, token: CreatedToken, url: string): string {
  return `scalr-credd: created a new store in ${paths.dataDir}

Admin token (shown once; keep it somewhere safe):

    ${token.token}

Next steps (from a checkout, run the commands as npx scalr-credd and npx docker-credential-scalr):
  1. Point the admin CLI at the daemon:
       export SCALR_CREDD_URL=${url}
       export SCALR_CREDD_TOKEN=<the admin token above>
  2. Store a registry credential (the secret is read from stdin, never from an argument):
       printf '%s' "$REGISTRY_PAT" | scalr-credd integration add --host ghcr.io --username my-user
  3. Mint a short-lived runner token limited to that host:
       scalr-credd token create --name ci-runner --role runner --ttl 3600 --host ghcr.io
  4. On the runner, with SCALR_CREDD_URL and SCALR_CREDD_TOKEN (the runner token) set:
       docker-credential-scalr configure          # writes credHelpers into ~/.docker/config.json
       echo ghcr.io | docker-credential-scalr get # docker, skopeo, podman and tofu now ask the daemon

`;
}
