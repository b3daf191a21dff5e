import { IntegrationSummarySchema } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { secretContext } from '../barrier/barrier.js';
import { seedKeyring } from '../lifecycle/init-store.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { buildIntegrationRow, integrationSummary } from './integration-row.js';

const AT = '2026-03-02T09:00:00.000Z';

async function setup() {
  const store = openSqliteStore(':memory:');
  const { barrier } = await seedKeyring(store, new Date(AT));
  return { barrier, repo: store.integrations };
}

describe('buildIntegrationRow', () => {
  it('seals the secret for its host under the active term and starts every other field empty', async () => {
    const { barrier } = await setup();

    const row = await buildIntegrationRow(barrier, { host: 'ghcr.io', username: 'bot', secret: 's3cret' }, AT);

    expect(await barrier.open(secretContext('ghcr.io'), row.envelope)).toBe('s3cret');
    expect(row).toMatchObject({
      host: 'ghcr.io', username: 'bot', term: barrier.activeTerm(), export: true, description: null, createdAt: AT, updatedAt: AT,
      expiresAt: null, caCert: null, lastTestedAt: null, lastTestResult: null, lastTestDetail: null,
    });
    expect(row.id).toMatch(/^int_[0-9a-f]{16}$/);
  });
});

describe('integrationSummary', () => {
  it('is exactly what the repository lists for the same row, and parses as a summary', async () => {
    const { barrier, repo } = await setup();
    const row = await buildIntegrationRow(barrier, { host: 'quay.io', username: 'q', secret: 'x', export: false, description: 'd', caCert: 'PEM' }, AT);
    await repo.insert(row);

    const summary = integrationSummary((await repo.findById(row.id))!);

    expect(JSON.stringify([summary])).toBe(await repo.listingsJson(null));
    expect(IntegrationSummarySchema.parse(summary)).toEqual(summary);
    expect(Object.keys(summary)).not.toContain('envelope');
  });
});
