import { describe, expect, it } from 'vitest';
import { parseChallenge, registryBaseUrl } from './registry-probe.js';

describe('registryBaseUrl', () => {
  it.each([
    ['ghcr.io', false, 'https://ghcr.io/v2/'],
    ['docker.io', false, 'https://registry-1.docker.io/v2/'],
    ['registry.example.com:5000', false, 'https://registry.example.com:5000/v2/'],
    ['127.0.0.1:5000', false, 'http://127.0.0.1:5000/v2/'],
    ['localhost:5000', false, 'http://localhost:5000/v2/'],
    ['[::1]:5000', false, 'http://[::1]:5000/v2/'],
    ['localhost:5000', true, 'https://localhost:5000/v2/'],
    ['127.0.0.1.example.com', false, 'https://127.0.0.1.example.com/v2/'],
  ])('maps %s (caCert %s) to %s', (host, hasCa, url) => {
    expect(registryBaseUrl(host, hasCa).href).toBe(url);
  });
});

describe('parseChallenge', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:a/b:pull' },
    });
  });

  it('parses a Basic challenge case-insensitively', () => {
    expect(parseChallenge('basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
  });

  it('parses unquoted parameters and escaped quotes', () => {
    expect(parseChallenge('Bearer realm=https://r/token, service="a\\"b"')!.params).toEqual({ realm: 'https://r/token', service: 'a"b' });
  });

  it.each(['', 'Negotiate abc', 'Digest realm="x"', 'Bearerish realm="x"'])('rejects %j', (header) => {
    expect(parseChallenge(header)).toBeUndefined();
  });
});
