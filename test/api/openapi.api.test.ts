import { API_ROUTES } from '@dcs/shared';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { TEST_VERSION, buildTestApp } from '../support/test-app.js';

interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; security?: unknown[] }>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown>; required?: string[] }> };
}

async function fetchDocument() {
  const ops = await buildTestApp();
  const res = await request(ops.app).get('/v1/openapi.json');
  return { res, doc: res.body as OpenApiDocument, ops };
}

describe('GET /v1/openapi.json', () => {
  it('answers an OpenAPI 3.1 document without a token', async () => {
    const { res, doc } = await fetchDocument();

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(TEST_VERSION);
  });

  it('describes every route of API_ROUTES', async () => {
    const { doc } = await fetchDocument();

    const missing = Object.values(API_ROUTES)
      .map((path) => path.replace(/:([A-Za-z]+)/g, '{$1}'))
      .filter((path) => !doc.paths[path]);

    expect(missing).toEqual([]);
  });

  it('resolves every $ref to a component generated from the shared schemas', async () => {
    const { res, doc } = await fetchDocument();

    const refs = [...res.text.matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((match) => match[1]!);

    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((name) => !doc.components.schemas[name])).toEqual([]);
    expect(doc.components.schemas['IntegrationSummary']!.required).toEqual(expect.arrayContaining(['expiresAt', 'lastTestResult']));
    // One branch per provider: the static credential, and each cloud identity object.
    const branches = (doc.components.schemas['CreateIntegrationBody'] as { oneOf?: Array<{ properties?: object }> }).oneOf ?? [];
    expect(branches.map((branch) => Object.keys(branch.properties ?? {}))).toEqual([
      expect.arrayContaining(['provider', 'host', 'username', 'secret', 'expiresAt', 'caCert']),
      expect.arrayContaining(['provider', 'host', 'aws', 'expiresAt', 'caCert']),
      expect.arrayContaining(['provider', 'host', 'azure', 'expiresAt', 'caCert']),
      expect.arrayContaining(['provider', 'host', 'google', 'expiresAt', 'caCert']),
    ]);
    expect(doc.components.schemas['IntegrationSummary']!.required).toEqual(expect.arrayContaining(['provider', 'identity']));
  });

  it('marks the public routes as needing no token and the API routes as bearer', async () => {
    const { doc } = await fetchDocument();

    expect(doc.paths['/healthz']!['get']!.security).toEqual([]);
    expect(doc.paths['/metrics']!['get']!.security).toEqual([]);
    expect(doc.paths['/v1/audit']!['get']!.security).toBeUndefined();
  });

  it('answers the same bytes on every request', async () => {
    const { ops, res } = await fetchDocument();

    const again = await request(ops.app).get('/v1/openapi.json');

    expect(again.text).toBe(res.text);
  });
});
