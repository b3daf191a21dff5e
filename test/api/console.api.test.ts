/**
 * The admin console's files at /ui/: served without a token, with a strict Content-Security-Policy
 * and the other page headers, only the built files, GET only; not served at all without them
 * (`serve --no-ui`). The lookup route's answer is unchanged by it.
 */
import { ErrorBodySchema } from '@dcs/shared';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, loadConsoleAssets, type ConsoleAssets } from '../../daemon/src/http/console-routes.js';
import { bearer, buildTestApp, seedIntegration } from '../support/test-app.js';

/** A console build of marker files, as scripts/bundle-ui.mjs lays it out. */
function fakeBuild(): ConsoleAssets {
  const dir = join(tmpdir(), `scalr-console-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console page</title>');
  writeFileSync(join(dir, 'console.js'), 'console-script();');
  writeFileSync(join(dir, 'console.css'), 'body{}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return loadConsoleAssets(dir)!;
}

describe('the admin console at /ui/', () => {
  it('serves the page and its files without a token, with a strict CSP, no-referrer and nosniff', async () => {
    const { app } = await buildTestApp({ console: fakeBuild() });

    for (const [path, type, marker] of [
      ['/ui/', 'text/html', 'console page'],
      ['/ui/console.js', 'text/javascript', 'console-script'],
      ['/ui/console.css', 'text/css', 'body{}'],
      ['/ui/favicon.svg', 'image/svg+xml', '<svg'],
    ] as const) {
      const res = await request(app).get(path).buffer(true).parse((r, done) => {
        let text = '';
        r.on('data', (chunk: Buffer) => (text += chunk.toString()));
        r.on('end', () => done(null, text));
      });
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toContain(type);
      expect(String(res.body)).toContain(marker);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    // No inline script or style, no eval, no other origin, no framing.
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
  });

  it('redirects /ui to /ui/ and answers anything else under /ui with the API\'s 404 or 405', async () => {
    const { app } = await buildTestApp({ console: fakeBuild() });

    const redirect = await request(app).get('/ui');
    const unknown = await request(app).get('/ui/../v1/tokens');
    const missing = await request(app).get('/ui/secret.txt');
    const post = await request(app).post('/ui/').send({});

    expect(redirect.status).toBe(301);
    expect(redirect.headers['location']).toBe('/ui/');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-security-policy']).toBeUndefined();
    expect(ErrorBodySchema.parse(missing.body).error.code).toBe('route_not_found');
    expect(ErrorBodySchema.parse(post.body).error.code).toBe('method_not_allowed');
  });

  it('is not served without its files (serve --no-ui), and the API answers the same either way', async () => {
    const withUi = await buildTestApp({ console: fakeBuild() });
    const without = await buildTestApp();
    for (const t of [withUi, without]) await seedIntegration(t, { host: 'ghcr.io' });

    const page = await request(without.app).get('/ui/');
    const lookups = await Promise.all(
      [withUi, without].map((t) => request(t.app).post('/v1/credentials/get').set('Authorization', bearer(t.tokens.runner)).send({ ServerURL: 'ghcr.io' })),
    );

    expect(page.status).toBe(404);
    expect(ErrorBodySchema.parse(page.body).error.code).toBe('route_not_found');
    expect(page.headers['content-security-policy']).toBeUndefined();
    expect(lookups.map((res) => res.status)).toEqual([200, 200]);
    expect(lookups[0]!.headers['content-security-policy']).toBeUndefined();
  });

  it('reads nothing when the build is missing a file', () => {
    expect(loadConsoleAssets(join(tmpdir(), 'no-such-console-build'))).toBeUndefined();
  });
});
