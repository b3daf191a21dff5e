/**
 * The runner-image example without a container engine: the Dockerfile's own shell that writes the
 * runner's Docker config runs in a real `sh`, and its build-context rules are checked against its COPY.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeRegistryHost } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runProcess } from '../support/processes.js';

const DIR = join(REPO_ROOT, 'examples', 'runner-image');
const dockerfile = readFileSync(join(DIR, 'Dockerfile'), 'utf8');
/** The Dockerfile with its line continuations joined, as the builder's shell sees each RUN. */
const joined = dockerfile.replace(/\\\n/g, ' ');

const HUB_KEYS = ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

/** Runs the Dockerfile's config-writing group with REGISTRY_HOSTS and parses what it prints. */
async function dockerConfigFor(registryHosts: string): Promise<{ credHelpers: Record<string, string> }> {
  const group = /\{ hub=''; .*?; \} > "\$home\/\.docker\/config\.json"/.exec(joined)?.[0];
  expect(group, 'the RUN that writes ~/.docker/config.json').toBeDefined();
  const script = `set -eu; ${group!.replace(/ > "\$home\/\.docker\/config\.json"$/, '')}`;
  const result = await runProcess('sh', ['-c', script], { env: { REGISTRY_HOSTS: registryHosts } });
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as { credHelpers: Record<string, string> };
}

describe('examples/runner-image', () => {
  it('names the helper for each host once, and for every spelling of Docker Hub whichever one is listed', async () => {
    const config = await dockerConfigFor('ghcr.io registry.example.com:5000 docker.io ghcr.io');

    expect(config).toEqual({ credHelpers: Object.fromEntries(['ghcr.io', 'registry.example.com:5000', ...HUB_KEYS].map((key) => [key, 'scalr'])) });
    for (const spelling of HUB_KEYS) {
      expect((await dockerConfigFor(`${spelling} ghcr.io`)).credHelpers).toEqual(Object.fromEntries(['ghcr.io', ...HUB_KEYS].map((key) => [key, 'scalr'])));
    }
    // Every key is one the helper maps to Docker Hub.
    expect(new Set(HUB_KEYS.map((key) => normalizeRegistryHost(key)))).toEqual(new Set(['docker.io']));
  });

  it('writes valid JSON for no hosts', async () => {
    expect(await dockerConfigFor('')).toEqual({ credHelpers: {} });
  });

  it("writes the runner user's ~/.docker and never points DOCKER_CONFIG elsewhere (cli-plugins and buildx state stay put)", () => {
    expect(dockerfile).not.toMatch(/^\s*ENV\s+DOCKER_CONFIG/m);
    expect(joined).toMatch(/home="\$\(getent passwd "\$RUNNER_USER" \| cut -d: -f6\)"/);
    expect(joined).toMatch(/chown -R "\$RUNNER_USER" "\$home\/\.docker"/);
  });

  it('keeps the build context to what the COPY reads (Dockerfile.dockerignore beside the Dockerfile)', () => {
    const rules = readFileSync(join(DIR, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const copied = [...joined.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.trim().split(/\s+/));

    expect(rules[0]).toBe('*');
    expect(rules.slice(1).sort()).toEqual(copied.map((source) => `!${source}`).sort());
  });
});
