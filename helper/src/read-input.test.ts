import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isCharacterDevice, readInput, readStream } from './read-input.js';

describe('readInput', () => {
  it.each(['get', 'store', 'erase'])('reads %s input until EOF, joined across chunks and multi-byte boundaries', async (verb) => {
    const stdin = new PassThrough();
    const text = readInput([verb], false, () => stdin);
    const bytes = Buffer.from('{"Secret":"pässwörd"}\n');

    stdin.write(bytes.subarray(0, 14));
    setTimeout(() => stdin.end(bytes.subarray(14)), 150);

    expect(await text).toBe('{"Secret":"pässwörd"}\n');
  });

  it('reads input verbs from a terminal too, as the reference helpers do', async () => {
    const stdin = new PassThrough();
    stdin.end('ghcr.io');

    expect(await readInput(['get'], true, () => stdin)).toBe('ghcr.io');
  });

  it('does not open a device (terminal, /dev/null) for other invocations', async () => {
    let opened = false;

    const text = await readInput(['version'], true, () => {
      opened = true;
      return new PassThrough();
    });

    expect(text).toBe('');
    expect(opened).toBe(false);
  });

  it('drains what list is sent', async () => {
    const stdin = new PassThrough();
    stdin.end('unused');

    expect(await readInput(['list'], false, () => stdin)).toBe('unused');
  });

  it('stops waiting for a stdin that never ends when the invocation takes no input', async () => {
    const stdin = new PassThrough();
    stdin.write('partial');

    const text = await readInput(['version'], false, () => stdin);

    expect(text).toBe('partial');
    expect(stdin.destroyed).toBe(true);
  });

  it('treats a wrong argument count as taking no input', async () => {
    const stdin = new PassThrough();

    expect(await readInput(['get', 'extra'], false, () => stdin)).toBe('');
    expect(stdin.destroyed).toBe(true);
  });
});

describe('readStream', () => {
  it('resolves with what was read when the stream fails', async () => {
    const stream = new PassThrough();
    const text = readStream(stream);

    stream.write('ghcr');
    setTimeout(() => stream.destroy(new Error('EIO')), 10);

    expect(await text).toBe('ghcr');
  });

  it('resolves with an empty string for an empty stream', async () => {
    const stream = new PassThrough();
    stream.end();

    expect(await readStream(stream)).toBe('');
  });
});

describe('isCharacterDevice', () => {
  it('is true for /dev/null and false for a regular file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'read-input-test-'));
    const devNull = openSync('/dev/null', 'r');
    const file = openSync(join(dir, 'input'), 'w');
    try {
      expect(isCharacterDevice(devNull)).toBe(true);
      expect(isCharacterDevice(file)).toBe(false);
    } finally {
      closeSync(devNull);
      closeSync(file);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts a descriptor that is not open as a device, so nothing waits on it', () => {
    expect(isCharacterDevice(987654)).toBe(true);
  });
});
