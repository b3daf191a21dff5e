import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingIo } from '../../../test/support/cli-io.js';
import { runCli } from './run-cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function init(...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'scalr-init-'));
  dirs.push(dir);
  const io = recordingIo();
  const code = await runCli(['init', '--data-dir', join(dir, 'data'), ...args.map((arg) => arg.replace('DIR', dir))], io);
  return { code, dir, stdout: io.out.join(''), stderr: io.err.join('') };
}

describe('scalr-credd init and the root key', () => {
  it('says loudly how to move a root key created inside the data dir', async () => {
    const result = await init();

    expect(result.code).toBe(0);
    const key = join(result.dir, 'data', 'root.key');
    expect(result.stdout).toContain(`WARNING: the root key was created INSIDE the data dir: ${key}\n`);
    expect(result.stdout).toContain(`    mv ${key} ~/.config/scalr-credd/root.key\n`);
    expect(result.stdout).toContain('--root-key-file');
    expect(result.stdout.indexOf('WARNING')).toBeLessThan(result.stdout.indexOf('Next steps'));
  });

  it('says it on stderr with --json, keeping stdout one JSON object', async () => {
    const result = await init('--json');

    expect(JSON.parse(result.stdout)).toMatchObject({ dataDir: join(result.dir, 'data') });
    expect(result.stderr).toMatch(/^WARNING: the root key was created INSIDE the data dir: /);
  });

  it('says nothing of it when the key file lies outside the data dir', async () => {
    const result = await init('--root-key-file', 'DIR/root.key');

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('WARNING');
    expect(result.stdout).toMatch(/\n\nNext steps/);
    expect(result.stdout).not.toMatch(/\n\n\nNext steps/);
  });
});
