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
const { secretContext } = await load('barrier/barrier.js');
const { mintToken } = await load('auth/token-hash.js');
const { newId } = await load('ids.js');

const paths = storePaths(dataDir);
const admin = initStore(paths);
const store = openStore(paths);
let runnerToken;
try {
  const at = new Date().toISOString();
  store.db.transaction(() => {
    for (let i = 0; i < integrationCount; i++) {
      const host = benchHost(i, integrationCount);
      store.integrationRepository.insert({
        id: newId('int'),
        host,
        username: 'bench-user',
        ...store.barrier.seal(secretContext(host), `bench-secret-${i}-${'x'.repeat(32)}`),
        export: true,
        description: i % 10 === 0 ? `seeded integration ${i}` : null,
        createdAt: at,
        updatedAt: at,
        expiresAt: null,
        caCert: null,
        lastTestedAt: null,
        lastTestResult: null,
        lastTestDetail: null,
      });
    }
    for (let i = 0; i < tokenCount; i++) {
      const minted = mintToken();
      if (i === 0) runnerToken = minted.value;
      store.tokenRepository.insert({
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
  })();
} finally {
  store.close();
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
