import { describe, expect, it } from 'vitest';
import {
  ConfigureError,
  TOFU_SECTION_BEGIN,
  TOFU_SECTION_END,
  addCredHelpers,
  addTofuBlocks,
  credHelperKeys,
  formatJsonConfig,
  hostsFromCredentialList,
  parseJsonConfig,
  plaintextAuthWarnings,
  removeCredHelpers,
  removeTofuBlocks,
} from './configure.js';

const LABEL = 'docker config /home/u/.docker/config.json';

describe('hostsFromCredentialList', () => {
  it('maps Docker-CLI keys to canonical hosts, sorted, without duplicates or sub-keys', () => {
    const hosts = hostsFromCredentialList({
      'https://index.docker.io/v1/': 'hub',
      'https://index.docker.io/v1/access-token': 'x',
      'reg.example.com:5000': 'alice',
      'ghcr.io': '<token>',
      'GHCR.io': 'dup',
      'not a host': 'x',
    });

    expect(hosts).toEqual(['docker.io', 'ghcr.io', 'reg.example.com:5000']);
  });

  it('returns no hosts for an empty list', () => {
    expect(hostsFromCredentialList({})).toEqual([]);
  });
});

describe('credHelperKeys', () => {
  it('keys Docker Hub as each client expects', () => {
    expect(credHelperKeys('docker', ['docker.io', 'ghcr.io'])).toEqual(['https://index.docker.io/v1/', 'docker.io', 'ghcr.io']);
    expect(credHelperKeys('containers', ['docker.io', 'ghcr.io'])).toEqual(['docker.io', 'ghcr.io']);
  });
});

describe('parseJsonConfig', () => {
  it.each([undefined, '', '  \n'])('reads %j as an empty config', (text) => {
    expect(parseJsonConfig(text, LABEL)).toEqual({});
  });

  it('reads a config with a byte-order mark', () => {
    expect(parseJsonConfig('\uFEFF{"auths":{}}', LABEL)).toEqual({ auths: {} });
  });

  it.each(['{', '[]', '"x"', 'null', '{"a":1}{'])('refuses %j', (text) => {
    expect(() => parseJsonConfig(text, LABEL)).toThrow(ConfigureError);
  });
});

describe('formatJsonConfig', () => {
  it('uses a tab for a new file, as the Docker CLI does', () => {
    expect(formatJsonConfig({ credHelpers: { 'ghcr.io': 'scalr' } }, undefined)).toBe('{\n\t"credHelpers": {\n\t\t"ghcr.io": "scalr"\n\t}\n}\n');
  });

  it('keeps the indentation the file used', () => {
    expect(formatJsonConfig({ a: { b: 1 } }, '{\n  "x": 1\n}\n')).toBe('{\n  "a": {\n    "b": 1\n  }\n}\n');
  });
});

describe('addCredHelpers', () => {
  it('adds entries and keeps every other key and its order', () => {
    const document = { auths: { 'ghcr.io': {} }, credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, proxies: { default: {} } };

    const change = addCredHelpers(document, ['https://index.docker.io/v1/', 'ghcr.io'], LABEL);

    expect(change.result).toEqual({
      auths: { 'ghcr.io': {} },
      credsStore: 'desktop',
      credHelpers: { 'gcr.io': 'gcloud', 'https://index.docker.io/v1/': 'scalr', 'ghcr.io': 'scalr' },
      proxies: { default: {} },
    });
    expect(Object.keys(change.result)).toEqual(['auths', 'credsStore', 'credHelpers', 'proxies']);
    expect(change).toMatchObject({ added: ['https://index.docker.io/v1/', 'ghcr.io'], unchanged: [], replaced: [], changed: true });
    expect(document.credHelpers).toEqual({ 'gcr.io': 'gcloud' });
  });

  it('creates credHelpers in an empty config', () => {
    expect(addCredHelpers({}, ['ghcr.io'], LABEL).result).toEqual({ credHelpers: { 'ghcr.io': 'scalr' } });
  });

  it('changes nothing when every entry is already there', () => {
    const document = { credHelpers: { 'ghcr.io': 'scalr' } };

    const change = addCredHelpers(document, ['ghcr.io'], LABEL);

    expect(change).toMatchObject({ added: [], unchanged: ['ghcr.io'], changed: false });
    expect(change.result).toBe(document);
  });

  it('replaces another helper for a configured host and warns', () => {
    const change = addCredHelpers({ credHelpers: { 'ghcr.io': 'pass' } }, ['ghcr.io'], LABEL);

    expect(change.result).toEqual({ credHelpers: { 'ghcr.io': 'scalr' } });
    expect(change.replaced).toEqual([{ key: 'ghcr.io', previous: 'pass' }]);
    expect(change.warnings).toHaveLength(1);
  });

  it('refuses a credHelpers that is not an object', () => {
    expect(() => addCredHelpers({ credHelpers: ['ghcr.io'] }, ['ghcr.io'], LABEL)).toThrow(ConfigureError);
  });
});

describe('removeCredHelpers', () => {
  it('removes only entries whose value is scalr, and a scalr credsStore', () => {
    const change = removeCredHelpers(
      { credsStore: 'scalr', credHelpers: { 'ghcr.io': 'scalr', 'gcr.io': 'gcloud', 'https://index.docker.io/v1/': 'scalr' }, auths: {} },
      LABEL,
    );

    expect(change.result).toEqual({ credHelpers: { 'gcr.io': 'gcloud' }, auths: {} });
    expect(change.removed).toEqual(['ghcr.io', 'https://index.docker.io/v1/', 'credsStore']);
  });

  it('drops credHelpers when nothing else is left in it', () => {
    expect(removeCredHelpers({ credHelpers: { 'ghcr.io': 'scalr' }, auths: {} }, LABEL).result).toEqual({ auths: {} });
  });

  it('leaves another credsStore and a config without scalr alone', () => {
    const document = { credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' } };

    const change = removeCredHelpers(document, LABEL);

    expect(change).toMatchObject({ removed: [], changed: false });
    expect(change.result).toBe(document);
  });
});

describe('plaintextAuthWarnings', () => {
  const b64 = Buffer.from('bob:hunter2').toString('base64');
  const warn = (auths: unknown, kind: 'docker' | 'containers' = 'docker', tofuConfigured = false) =>
    plaintextAuthWarnings({ auths }, ['ghcr.io', 'docker.io', 'reg.example.com:5000'], { label: LABEL, kind, tofuConfigured });

  it('ignores empty markers that docker login writes next to a helper', () => {
    expect(warn({ 'ghcr.io': {}, 'https://index.docker.io/v1/': {}, 'reg.example.com:5000': { auth: '' } })).toEqual([]);
  });

  it('ignores entries that hold only an email, and hosts that are not configured', () => {
    expect(warn({ 'ghcr.io': { email: 'a@b.c' }, 'other.example.com': { auth: b64 } })).toEqual([]);
  });

  it('warns that OpenTofu prefers a plaintext auth for a configured host', () => {
    const warnings = warn({ 'ghcr.io': { auth: b64 } });

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/auths\["ghcr\.io"\].*OpenTofu uses it instead of credHelpers/);
    expect(warnings[0]).not.toContain(b64);
    expect(warnings[0]).not.toContain('hunter2');
  });

  it('does not claim OpenTofu uses a host entry once configure --tofu writes an oci_credentials block', () => {
    const warnings = warn({ 'ghcr.io': { auth: b64 } }, 'docker', true);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toMatch(/OpenTofu/);
  });

  it('says OpenTofu still uses a repository-path entry, which beats any domain-wide source', () => {
    const warnings = warn({ 'ghcr.io/org': { auth: b64 } }, 'docker', true);

    expect(warnings[0]).toMatch(/OpenTofu uses it instead of the helper for repositories under org/);
  });

  it.each([
    { name: 'a password field', auths: { 'reg.example.com:5000': { username: 'u', password: 'hunter2' } } },
    { name: 'an identity token', auths: { 'https://index.docker.io/v1/': { identitytoken: 'hunter2' } } },
    { name: 'a scheme-prefixed legacy key', auths: { 'https://ghcr.io': { auth: b64 } } },
  ])('warns about plaintext on disk for $name, without claiming OpenTofu reads it', ({ auths }) => {
    const warnings = warn(auths, 'containers');

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/readable on disk/);
    expect(warnings[0]).not.toContain('hunter2');
  });

  it('ignores an auths that is not an object', () => {
    expect(warn(['ghcr.io'])).toEqual([]);
  });
});

describe('addTofuBlocks', () => {
  const TOFU = 'OpenTofu config /home/u/.tofurc';
  const section = (...hosts: string[]) =>
    `${TOFU_SECTION_BEGIN}\n${hosts.map((h) => `oci_credentials "${h}" {\n  docker_credentials_helper = "scalr"\n}\n`).join('')}${TOFU_SECTION_END}\n`;

  it('writes one block per host into a new file', () => {
    const change = addTofuBlocks(undefined, ['reg.example.com:5000', 'ghcr.io'], TOFU);

    expect(change.result).toBe(section('ghcr.io', 'reg.example.com:5000'));
    expect(change.added).toEqual(['reg.example.com:5000', 'ghcr.io']);
  });

  it('appends after existing settings, keeping them byte for byte', () => {
    const existing = 'plugin_cache_dir = "$HOME/.terraform.d/plugin-cache"\n# my comment\n';

    expect(addTofuBlocks(existing, ['ghcr.io'], TOFU).result).toBe(`${existing}\n${section('ghcr.io')}`);
    expect(addTofuBlocks('x = 1', ['ghcr.io'], TOFU).result).toBe(`x = 1\n\n${section('ghcr.io')}`);
  });

  it('merges new hosts into the managed section in place', () => {
    const text = `a = 1\n\n${section('ghcr.io')}b = 2\n`;

    const change = addTofuBlocks(text, ['docker.io', 'ghcr.io'], TOFU);

    expect(change.result).toBe(`a = 1\n\n${section('docker.io', 'ghcr.io')}b = 2\n`);
    expect(change).toMatchObject({ added: ['docker.io'], unchanged: ['ghcr.io'], changed: true });
  });

  it('is idempotent', () => {
    const once = addTofuBlocks('a = 1\n', ['ghcr.io'], TOFU).result;

    const twice = addTofuBlocks(once, ['ghcr.io'], TOFU);

    expect(twice).toMatchObject({ result: once, changed: false, unchanged: ['ghcr.io'] });
  });

  it('leaves a host alone that already has a hand-written block, and warns', () => {
    const text = 'oci_credentials "ghcr.io" {\n  username = "u"\n  password = "p"\n}\n';

    const change = addTofuBlocks(text, ['ghcr.io', 'docker.io'], TOFU);

    expect(change.skipped).toEqual(['ghcr.io']);
    expect(change.warnings).toHaveLength(1);
    expect(change.result).toBe(`${text}\n${section('docker.io')}`);
  });

  it('refuses a section that has no end line', () => {
    expect(() => addTofuBlocks(`${TOFU_SECTION_BEGIN}\noci_credentials "x" {}\n`, ['ghcr.io'], TOFU)).toThrow(ConfigureError);
  });

  it('writes nothing when there are no hosts', () => {
    expect(addTofuBlocks('a = 1\n', [], TOFU)).toMatchObject({ result: 'a = 1\n', changed: false });
  });

  it('round-trips with removeTofuBlocks to the original text', () => {
    for (const original of [undefined, '', 'a = 1\n', 'a = 1\n\n', 'a = 1']) {
      const added = addTofuBlocks(original, ['ghcr.io', 'docker.io'], TOFU).result;

      const removed = removeTofuBlocks(added, TOFU);

      expect(removed.removed).toEqual(['docker.io', 'ghcr.io']);
      expect(removed.result).toBe(original === 'a = 1' ? 'a = 1\n' : (original ?? ''));
    }
  });
});

describe('removeTofuBlocks', () => {
  it('keeps hand-written blocks and leaves a file without a section unchanged', () => {
    const text = 'oci_credentials "ghcr.io" {\n  docker_credentials_helper = "scalr"\n}\n';

    expect(removeTofuBlocks(text, 'x')).toMatchObject({ result: text, changed: false, removed: [] });
  });
});
