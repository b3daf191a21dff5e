import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { recoverAdmin } from '../lifecycle/recover-admin.js';
import { writeTokenFile } from '../lifecycle/token-file.js';
import type { CliIo } from './io.js';
import { pathsFromOptions, STORE_OPTIONS } from './store-options.js';

/** Help text of `scalr-credd token recover-admin`. */
export const RECOVER_ADMIN_HELP = `Usage: scalr-credd token recover-admin [--data-dir DIR] [--store URL] [--root-key-file FILE] [--name NAME] [--out FILE]

Offline recovery when no admin token works any more: with the root key, mints a new admin token
(no expiry, no host limit) directly in the store and audits it (token.create, recovery: true).
Run it as the daemon's user; it is safe while the daemon serves. The token is printed once on
stdout, or with --out written to FILE (created 0600, never overwritten) and only the path printed.

  --name NAME   the token's label (default "recovered admin")
  --out FILE    write the token to FILE instead of stdout
`;

/** Runs `scalr-credd token recover-admin`. */
export async function runRecoverAdmin(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STORE_OPTIONS, name: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  if (values.help) return (io.stdout(RECOVER_ADMIN_HELP), 0);
  const created = await recoverAdmin(pathsFromOptions(values, io), values.name ?? 'recovered admin');
  if (values.out) {
    const out = resolve(values.out);
    writeTokenFile(out, created.token);
    io.stdout(`${out}\n`);
  } else {
    io.stdout(`${created.token}\n`);
  }
  io.stderr(`scalr-credd: minted admin token ${created.id} (audited); revoke lost admin tokens now with 'scalr-credd token revoke'\n`);
  return 0;
}
