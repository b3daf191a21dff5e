import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runInstallCommand } from './install-cli.js';
import type { Program } from './program-files.js';

describe('install', () => {
  let dir: string;
  let script: Program;
  let binary: Program;
  const target = () => join(dir, 'bin', 'docker-credential-scalr');
  const run = (args: string[], program: Program, path = '/usr/bin') =>
    runInstallCommand(['--prefix', join(dir, 'bin'), ...args], { env: { PATH: path }, homeDir: join(dir, 'home'), program });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'install-test-'));
    mkdirSync(join(dir, 'checkout/helper/bin'), { recursive: true });
    mkdirSync(join(dir, 'checkout/dist'), { recursive: true });
    const entry = join(dir, 'checkout/helper/bin/docker-credential-scalr.cjs');
    writeFileSync(entry, '#!/usr/bin/env node\n', { mode: 0o755 });
    script = { kind: 'script', path: entry, realPaths: [entry] };
    const exe = join(dir, 'checkout/dist', `docker-credential-scalr-linux-${process.arch}`);
    writeFileSync(exe, 'ELF binary bytes', { mode: 0o755 });
    binary = { kind: 'binary', path: exe, realPaths: [exe] };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('links the checkout entry, says so, and says that the directory is not on PATH', () => {
    const result = run([], script);

    expect(result.exitCode).toBe(0);
    expect(readlinkSync(target())).toBe(script.path);
    expect(result.stdout).toContain(`installed ${target()}: a symbolic link to ${script.path}`);
    expect(result.stdout).toContain(`${join(dir, 'bin')} is not on PATH`);
  });

  it('copies the packaged binary with --binary, executable, and says it is on PATH', () => {
    const result = run(['--binary'], script, `${join(dir, 'bin')}:/usr/bin`);

    expect(result.exitCode).toBe(0);
    expect(lstatSync(target()).isFile()).toBe(true);
    expect(lstatSync(target()).mode & 0o777).toBe(0o755);
    expect(readFileSync(target(), 'utf8')).toBe('ELF binary bytes');
    expect(result.stdout).toContain('a copy of the packaged binary');
    expect(result.stdout).toContain(`${join(dir, 'bin')} is on PATH: clients will run ${target()}`);
  });

  it('says when there is no packaged binary to copy', () => {
    rmSync(binary.path);

    const result = run(['--binary'], script);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^docker-credential-scalr install: there is no packaged binary at .*npm run build:binary/);
  });

  it('is idempotent, and refuses to replace a different file without --force', () => {
    expect(run([], script).exitCode).toBe(0);
    expect(run([], script).stdout).toContain('is already a symbolic link');

    const other = run([], binary);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain(`${target()} exists and is a symbolic link to ${script.path}; pass --force to replace it`);
    expect(readlinkSync(target())).toBe(script.path);

    expect(run(['--force'], binary).exitCode).toBe(0);
    expect(readFileSync(target(), 'utf8')).toBe('ELF binary bytes');
    expect(run([], binary).stdout).toContain('is already a copy');
  });

  it('refuses an unknown option with the usage', () => {
    expect(run(['--nope'], script)).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/unknown option: --nope\nUsage: /) });
  });
});
