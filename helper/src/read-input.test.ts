import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isCharacterDevice } from './node-platform.js';
import { readInput, readStream } from './read-input.js';

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

  /** A blocking reader over `parts`: each call copies the next part, then 0 (EOF); `fail` throws at that call instead. */
  function syncReader(parts: Buffer[], fail?: { at: number; code: string }) {
    let call = 0;
    return (buffer: Buffer): number => {
      if (fail && call === fail.at) throw Object.assign(new Error(fail.code), { code: fail.code });
      const part = parts[call++];
      if (!part) return 0;
      part.copy(buffer);
      return part.length;
    };
  }

  it.each(['get', 'store', 'erase'])('reads %s input with blocking reads when it can, and never opens the stream', async (verb) => {
    const bytes = Buffer.from('{"Secret":"pässwörd"}\n');
    let opened = false;

    const text = await readInput([verb], false, () => ((opened = true), new PassThrough()), syncReader([bytes.subarray(0, 13), bytes.subarray(13)]));

    expect(text).toBe('{"Secret":"pässwörd"}\n');
    expect(opened).toBe(false);
  });

  it('continues as a stream when the descriptor would block, joining the bytes across the switch', async () => {
    const bytes = Buffer.from('{"Secret":"pässwörd"}');
    const stdin = new PassThrough();
    setTimeout(() => stdin.end(bytes.subarray(13)), 50);

    // Byte 13 is the second byte of "ä": the two halves only decode when joined as bytes.
    const text = await readInput(['get'], false, () => stdin, syncReader([bytes.subarray(0, 13)], { at: 1, code: 'EAGAIN' }));

    expect(text).toBe('{"Secret":"pässwörd"}');
  });

  it('ends the input at any other read error with what was read', async () => {
    let opened = false;

    const text = await readInput(['get'], false, () => ((opened = true), new PassThrough()), syncReader([Buffer.from('ghcr')], { at: 1, code: 'EBADF' }));

    expect(text).toBe('ghcr');
    expect(opened).toBe(false);
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
