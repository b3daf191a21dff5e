#!/usr/bin/env node
// Seeds a new scalr-credd store for `npm run bench` with the daemon's own modules (daemon/dist), before
// any daemon runs on it: a first admin token (initStore), then N integrations whose secrets are sealed
// by the store's barrier and M runner tokens, in one transaction. Going through the API would take
// minutes for 10,000 rows; the rows written here are what the API would write, minus their audit rows.
// Usage: node scripts/bench/seed-store.mjs --data-dir DIR --integrations N --tokens M
// Prints one JSON line: { adminToken, runnerToken, lookupHost, integrations, tokens, ms }.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchHost, lookupHost } from './lib/names.mjs';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const load = (path) => import(pathToFileURL(join(root, 'daemon/dist', path)).href);

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, integrations: { type: 'string' }, tokens: { type: 'string' } },
  strict: true,
});
const dataDir = values['data-dir'];
const integrationCount = Number(values.integrations ?? '10');
const tokenCount = Number(values.tokens ?? '1');
if (!dataDir || !(integrationCount >= 1) || !(tokenCount >= 1)) {
  console.error('usage: seed-store.mjs --data-dir DIR --integrations N --tokens M (N, M ≥ 1)');
  process.exit(2);
}

const started = process.hrtime.bigint();
const { initStore } = await load('lifecycle/init-store.js');
const { openStore } = await load('lifecycle/open-store.js');
const { storePaths } = await load('lifecycle/store-paths.js');
const { buildIntegrationRow } = await load('services/integration-row.js');
const { mintToken } = await load('auth/token-hash.js');

const paths = storePaths(dataDir);
const admin = await initStore(paths);
const store = await openStore(paths);
let runnerToken;
try {
  const at = new Date().toISOString();
  // Sealed before the transaction: the barrier checks the keyring version, a read that waits for it to end.
  const rows = [];
  for (let i = 0; i < integrationCount; i++) {
    const host = benchHost(i, integrationCount);
    const secret = `bench-secret-${i}-${'x'.repeat(32)}`;
    const description = i % 10 === 0 ? `seeded integration ${i}` : null;
    rows.push(await buildIntegrationRow(store.barrier, { host, username: 'bench-user', secret, description }, at));
  }
  await store.store.write(async (tx) => {
    for (const row of rows) await tx.integrations.insert(row);
    for (let i = 0; i < tokenCount; i++) {
      const minted = mintToken();
      if (i === 0) runnerToken = minted.value;
      await tx.tokens.insert({
        id: minted.id,
        name: `bench runner ${i}`,
        role: 'runner',
        hash: minted.hash,
        hosts: null,
        createdAt: at,
        expiresAt: null,
        revokedAt: null,
      });
    }
  });
} finally {
  await store.close();
}

process.stdout.write(
  `${JSON.stringify({
    adminToken: admin.token,
    runnerToken,
    lookupHost: lookupHost(integrationCount),
    integrations: integrationCount,
    tokens: tokenCount,
    ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
  })}\n`,
);
