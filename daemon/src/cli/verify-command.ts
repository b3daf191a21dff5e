import { parseArgs } from 'node:util';
import { verifyStore } from '../lifecycle/verify-store.js';
import type { CliIo } from './io.js';
import { pathsFromOptions, STORE_OPTIONS } from './store-options.js';

/** Help text of `scalr-credd verify`. */
export const VERIFY_HELP = `Usage: scalr-credd verify [--data-dir DIR] [--store URL] [--root-key-file FILE] [--json]

Checks the store with its root key: no schema object the migrations did not create (trigger, view,
table, index), the keyring opens, every token and integration row carries a valid MAC (rows edited
without the root key fail), and the audit log's hash chain holds. Safe while the daemon serves.

Exit status: 0 when everything holds, 1 when something does not (each problem is printed).
`;

/** Runs `scalr-credd verify`. */
export async function runVerify(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) return (io.stdout(VERIFY_HELP), 0);
  const result = await verifyStore(pathsFromOptions(values, io));
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    io.stdout(`store verified: schema as created, keyring opens, every row authenticated, audit log intact (${result.audit.rows} rows)\n`);
  } else {
    const problems = [
      ...result.foreignSchema.map((object) => `schema object not created by scalr-credd: ${object}`),
      ...result.failedRows.map((row) => `row failed authentication: ${row}`),
      ...(result.audit.ok ? [] : [`audit log broken: ${result.audit.problem}`]),
    ];
    io.stderr(`scalr-credd: verify FAILED\n${problems.map((problem) => `  ${problem}\n`).join('')}`);
  }
  return result.ok ? 0 : 1;
}
