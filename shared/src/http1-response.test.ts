import { describe, expect, it, vi } from 'vitest';
import { Http1ParseError, Http1ResponseParser, type Http1Response } from './http1-response.js';

const MAX_BODY = 1024;

type Outcome = { ok: true; status: number; headers: Record<string, string>; body: string } | { ok: false; message: string; status: number | undefined };

/** Feeds `pieces` one by one, then the end of the stream if `close`; returns what the parser made of them. */
function feed(pieces: Buffer[], close: boolean, options: { maxBodyBytes?: number; maxHeadBytes?: number } = {}): Outcome {
  const parser = new Http1ResponseParser({ maxBodyBytes: options.maxBodyBytes ?? MAX_BODY, ...(options.maxHeadBytes === undefined ? {} : { maxHeadBytes: options.maxHeadBytes }) });
  const done = (response: Http1Response): Outcome => ({
    ok: true,
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: response.body.toString('latin1'),
  });
  try {
    for (const piece of pieces) {
      const response = parser.push(piece);
      if (response !== undefined) return done(response);
    }
    if (!close) return { ok: false, message: 'incomplete', status: parser.status };
    return done(parser.finish());
  } catch (error) {
    if (!(error instanceof Http1ParseError)) throw error;
    return { ok: false, message: error.message, status: error.status };
  }
}

function bytes(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
}

/** The same input fed whole, byte by byte, and split at every position in two: all must agree. */
function parseEveryWay(input: string | Buffer, close = true, options: { maxBodyBytes?: number; maxHeadBytes?: number } = {}): Outcome {
  const all = bytes(input);
  const whole = feed([all], close, options);
  const byByte = feed(
    Array.from(all, (_, i) => all.subarray(i, i + 1)),
    close,
    options,
  );
  expect(byByte).toEqual(whole);
  for (let split = 1; split < all.length; split++) {
    expect(feed([all.subarray(0, split), all.subarray(split)], close, options)).toEqual(whole);
  }
  return whole;
}

describe('Http1ResponseParser', () => {
  describe('status line and headers', () => {
    it('reads the status, lower-cased header names and a Content-Length body', () => {
      const outcome = parseEveryWay('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Two:  spaced value \t\r\nContent-Length: 7\r\n\r\n{"a":1}');

      expect(outcome).toEqual({
        ok: true,
        status: 200,
        headers: { 'content-type': 'application/json', 'x-two': 'spaced value', 'content-length': '7' },
        body: '{"a":1}',
      });
    });

    it('completes without waiting for the close once Content-Length bytes arrived (keep-alive servers)', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi', false)).toMatchObject({ ok: true, body: 'hi' });
    });

    it('matches header names case-insensitively and joins repeated headers', () => {
      const outcome = parseEveryWay('HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\nok');

      expect(outcome).toMatchObject({ ok: true, body: 'ok', headers: { 'set-cookie': 'a, b' } });
    });

    it('accepts HTTP/1.0, a missing reason phrase and bare LF line ends', () => {
      expect(parseEveryWay('HTTP/1.0 404\nContent-Length: 2\n\n{}')).toMatchObject({ ok: true, status: 404, body: '{}' });
    });

    it('ignores bytes after a complete response', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA GARBAGE')).toMatchObject({ ok: true, body: 'ok' });
    });

    it('returns 204 and 304 without a body even when a length is declared', () => {
      expect(parseEveryWay('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', false)).toMatchObject({ ok: true, status: 204, body: '' });
      expect(parseEveryWay('HTTP/1.1 304 Not Modified\r\n\r\n', false)).toMatchObject({ ok: true, status: 304, body: '' });
    });

    it('accepts repeated Content-Length values that agree', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok')).toMatchObject({ ok: true, body: 'ok' });
    });
  });

  describe('interim responses', () => {
    it('skips 100 Continue and 103 Early Hints before the final answer', () => {
      const outcome = parseEveryWay('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}');

      expect(outcome).toEqual({ ok: true, status: 201, headers: { 'content-length': '2' }, body: '{}' });
    });

    it('refuses 101 Switching Protocols', () => {
      expect(parseEveryWay('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n')).toMatchObject({ ok: false, message: expect.stringContaining('101') });
    });
  });

  describe('chunked bodies', () => {
    it('joins chunks, with extensions, upper-case hex and trailers', () => {
      const outcome = parseEveryWay(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\n{"a"\r\nA \r\n:"bcdefgh"\r\n1\r\n}\r\n0;last\r\nX-Trailer: t\r\n\r\n',
        false,
      );

      expect(outcome).toMatchObject({ ok: true, status: 200, body: '{"a":"bcdefgh"}' });
    });

    it('accepts Transfer-Encoding in any case', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', false)).toMatchObject({
        ok: true,
        body: 'ok',
      });
    });

    it('refuses an answer with both Transfer-Encoding and Content-Length, whatever their order (request smuggling)', () => {
      for (const head of ['Content-Length: 100\r\ntransfer-encoding: Chunked', 'Transfer-Encoding: chunked\r\nContent-Length: 2']) {
        expect(parseEveryWay(`HTTP/1.1 200 OK\r\n${head}\r\n\r\n2\r\nok\r\n0\r\n\r\n`, false)).toMatchObject({
          ok: false,
          message: 'the answer has both Transfer-Encoding and Content-Length',
        });
      }
    });

    it('accepts leading zeros in a chunk size', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0002\r\nok\r\n000\r\n\r\n', false)).toMatchObject({ ok: true, body: 'ok' });
    });

    it.each([
      ['a size that is not hex', 'zz\r\nok\r\n0\r\n\r\n', /invalid chunk size "zz"/],
      ['a negative size', '-2\r\nok\r\n0\r\n\r\n', /invalid chunk size/],
      ['an empty size line', '\r\nok\r\n0\r\n\r\n', /invalid chunk size/],
      ['chunk data longer than its size', '2\r\nokay\r\n0\r\n\r\n', /does not end with CRLF/],
      ['an overlong size line', `2;${'x'.repeat(5000)}\r\nok\r\n0\r\n\r\n`, /chunk-size line is too long/],
      ['a malformed trailer', '2\r\nok\r\n0\r\nnot a header\r\n\r\n', /invalid header line/],
    ])('refuses %s', (_name, body, message) => {
      const outcome = parseEveryWay(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);

      expect(outcome).toMatchObject({ ok: false, status: 200, message: expect.stringMatching(message) });
    });

    it('refuses transfer codings other than chunked', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')).toMatchObject({
        ok: false,
        message: expect.stringContaining('unsupported transfer-encoding'),
      });
    });
  });

  describe('bodies delimited by the close', () => {
    it('reads until the end of the stream', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"to":"close"}')).toMatchObject({ ok: true, body: '{"to":"close"}' });
    });

    it('accepts an empty body', () => {
      expect(parseEveryWay('HTTP/1.1 500 Internal Server Error\r\n\r\n')).toMatchObject({ ok: true, status: 500, body: '' });
    });

    it('is not complete before the close', () => {
      expect(feed([bytes('HTTP/1.1 200 OK\r\n\r\n{}')], false)).toMatchObject({ ok: false, message: 'incomplete' });
    });
  });

  describe('size caps', () => {
    it('refuses a declared Content-Length over the cap before any body byte', () => {
      expect(parseEveryWay(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`, false)).toEqual({
        ok: false,
        status: 200,
        message: `the answer is larger than ${MAX_BODY} bytes`,
      });
    });

    it('accepts a body of exactly the cap', () => {
      expect(parseEveryWay(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'x'.repeat(MAX_BODY)}`, false)).toMatchObject({ ok: true });
    });

    it('refuses a close-delimited body that grows past the cap', () => {
      const outcome = feed([bytes('HTTP/1.1 200 OK\r\n\r\n'), bytes('x'.repeat(MAX_BODY)), bytes('x')], false);

      expect(outcome).toEqual({ ok: false, status: 200, message: `the answer is larger than ${MAX_BODY} bytes` });
    });

    it('refuses chunks that add up past the cap, and a huge chunk size at once', () => {
      const chunk = `200\r\n${'x'.repeat(512)}\r\n`;
      expect(feed([bytes(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}${chunk}`)], false)).toMatchObject({
        ok: false,
        message: `the answer is larger than ${MAX_BODY} bytes`,
      });
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n', false)).toMatchObject({
        ok: false,
        message: `the answer is larger than ${MAX_BODY} bytes`,
      });
    });

    it('refuses a huge Content-Length without losing it to float rounding', () => {
      expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n', false)).toMatchObject({
        ok: false,
        message: `the answer is larger than ${MAX_BODY} bytes`,
      });
    });

    it('refuses a head larger than its cap, also without a line end', () => {
      const longHeader = `HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(300)}\r\n\r\n`;
      expect(parseEveryWay(longHeader, false, { maxHeadBytes: 256 })).toMatchObject({ ok: false, message: "the answer's headers are larger than 256 bytes" });
      expect(feed([bytes(`HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(300)}`)], false, { maxHeadBytes: 256 })).toMatchObject({ ok: false });
    });

    it('counts interim heads against the head cap', () => {
      const interim = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(20);
      expect(feed([bytes(`${interim}HTTP/1.1 200 OK\r\n\r\n`)], true, { maxHeadBytes: 256 })).toMatchObject({ ok: false, message: expect.stringContaining('headers are larger') });
    });

    it('has a 64 KiB head cap by default', () => {
      const many = Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join('');
      expect(feed([bytes(`HTTP/1.1 200 OK\r\n${many}\r\n`)], true)).toMatchObject({ ok: false, message: "the answer's headers are larger than 65536 bytes" });
    });
  });

  describe('garbage', () => {
    it.each([
      ['binary bytes', Buffer.from('\x00\xffGARBAGE not http\r\n\r\n{"Secret":"x"}', 'latin1')],
      ['an SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n'],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      ['a bare JSON body', '{"Username":"u","Secret":"s"}'],
    ])('refuses %s at once, quoting only a short excerpt', (_name, input) => {
      const outcome = parseEveryWay(input, false);

      expect(outcome).toMatchObject({ ok: false, status: undefined, message: expect.stringMatching(/^the answer is not HTTP\/1\.x \(it starts with ".*"\)$/) });
      const message = (outcome as { message: string }).message;
      expect(message.length).toBeLessThan(80);
      expect(message).toMatch(/^[\x20-\x7e…]*$/);
    });

    it.each([
      ['a version other than 1.x', 'HTTP/2 200 OK\r\n\r\n'],
      ['a non-numeric status', 'HTTP/1.1 2OO OK\r\n\r\n'],
      ['a two-digit status', 'HTTP/1.1 20 OK\r\n\r\n'],
      ['a status below 100', 'HTTP/1.1 099 Weird\r\n\r\n'],
    ])('refuses a status line with %s', (_name, input) => {
      expect(parseEveryWay(input)).toMatchObject({ ok: false, status: undefined, message: expect.stringContaining('not HTTP/1.x') });
    });

    it.each([
      ['no colon', 'HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n', /invalid header line "NoColonHere"/],
      ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', /invalid header line/],
      ['a folded line', 'HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\n\r\n', /folds a header line/],
      ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n', /invalid header line "X-A: a\\x00b"/],
      ['a bare CR in a value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', /invalid header line/],
      ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n', /invalid content-length "12abc"/],
      ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid content-length/],
      ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', /invalid content-length "2, 3"/],
    ])('refuses a header with %s', (_name, input, message) => {
      expect(parseEveryWay(input)).toMatchObject({ ok: false, status: 200, message: expect.stringMatching(message) });
    });

    it('keeps an excerpt short however long the garbage line is', () => {
      const outcome = parseEveryWay(`HTTP/1.1 200 OK\r\n${'N'.repeat(2000)}\r\n\r\n`);
      expect((outcome as { message: string }).message.length).toBeLessThan(60);
    });
  });

  describe('truncation', () => {
    it('reports a close before any byte', () => {
      expect(feed([], true)).toEqual({ ok: false, status: undefined, message: 'the connection closed before an answer arrived' });
    });

    it.each([
      ['in the status line', 'HTTP/1.1 20'],
      ['in the headers', 'HTTP/1.1 200 OK\r\nContent-Le'],
      ['before the blank line', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n'],
      ['short of the Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Username":'],
      ['in a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc'],
      ['before the last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n'],
      ['in the trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n'],
      ['after interim responses', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ])('reports a close %s as an incomplete answer', (_name, input) => {
      expect(parseEveryWay(input)).toMatchObject({ ok: false, message: 'the connection closed before the answer was complete' });
    });
  });

  it('returns the response once and ignores later pushes', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: MAX_BODY });

    expect(parser.push(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))).toMatchObject({ status: 200 });
    expect(parser.push(bytes('more'))).toBeUndefined();
    expect(parser.finish()).toMatchObject({ status: 200 });
  });

  it('copies body bytes, so the caller may reuse its buffers', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: MAX_BODY });
    parser.push(bytes('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'));
    const chunk = bytes('ab');
    parser.push(chunk);
    chunk.fill(0);

    expect(parser.push(bytes('cd'))?.body.toString()).toBe('abcd');
  });
});

describe('Http1ResponseParser on adversarial heads (a hostile server: linear time)', () => {
  // Each head is about 64 KiB, the cap: the backtracking expressions this parser once used took
  // seconds on a 4 KiB line of blanks ending in a control character, and hours on 64 KiB.
  const fill = 60 * 1024;
  const heads: Array<[string, string]> = [
    ['blanks after a header colon, then a control character', `HTTP/1.1 200 OK\r\na:${' \t'.repeat(fill / 2)}\x01\r\n\r\n`],
    ['a value, blanks, then a control character', `HTTP/1.1 200 OK\r\nx-a: v${' '.repeat(fill)}\x00v\r\n\r\n`],
    ['a reason phrase of blanks ending in a control character', `HTTP/1.1 200 ${'\t'.repeat(fill)}\x7f\r\n\r\n`],
    ['a header name of token characters without a colon', `HTTP/1.1 200 OK\r\n${'a'.repeat(fill)}\r\n\r\n`],
    ['many short header lines of blanks', `HTTP/1.1 200 OK\r\n${`b:${' '.repeat(60)}\x02\r\n`.repeat(fill / 64)}\r\n`],
    ['a chunk-size line of blanks then a control character', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1${' '.repeat(4000)}\x01\r\n`],
  ];

  it.each(heads)('%s: parsed or refused within a generous bound', (_name, head) => {
    const started = performance.now();
    const parser = new Http1ResponseParser({ maxBodyBytes: 1024 });
    try {
      parser.push(Buffer.from(head, 'latin1'));
      parser.finish();
    } catch (error) {
      expect(error).toBeInstanceOf(Http1ParseError);
    }
    // Linear parsing takes about a millisecond here; the bound only separates linear from runaway.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('Http1ResponseParser on a head that arrives a byte at a time', () => {
  // A line is copied once when its end arrives, not once per chunk: otherwise a server dripping a
  // 60 KiB header line costs the client tens of thousands of copies of the whole line.
  it('copies a long line once, and parses it as it would whole', () => {
    const head = Buffer.from(`HTTP/1.1 200 OK\r\nx-long: ${'v'.repeat(60 * 1024)}\r\nContent-Length: 2\r\n\r\nok`, 'latin1');
    const parser = new Http1ResponseParser({ maxBodyBytes: 1024 });
    const concat = vi.spyOn(Buffer, 'concat');
    let response: Http1Response | undefined;
    let copies: number;
    try {
      for (let i = 0; i < head.length; i++) response = parser.push(head.subarray(i, i + 1)) ?? response;
      copies = concat.mock.calls.length;
    } finally {
      concat.mockRestore();
    }

    expect(response?.headers.get('x-long')).toHaveLength(60 * 1024);
    expect(response?.body.toString()).toBe('ok');
    // One copy per line end (five lines) and the body, not one per byte.
    expect(copies).toBeLessThan(20);
  });

  it('refuses a dripped line as soon as it passes the head cap', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: 1024, maxHeadBytes: 1024 });
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\nx: ', 'latin1'));

    const pushes = () => {
      for (let i = 0; i < 2048; i++) parser.push(Buffer.from('a'));
    };

    expect(pushes).toThrow(/headers are larger than 1024 bytes/);
  });
});

