/**
 * An incremental parser for one HTTP/1.1 response, as read from a connection that carries exactly one
 * request (`Connection: close`). It is pure: bytes go in through `push` and `finish` (the end of the
 * stream), and out comes the final response or an Http1ParseError with a short message.
 *
 * - The status line is `HTTP/1.0` or `HTTP/1.1`, a 3-digit status and an optional reason; header
 *   names are matched case-insensitively; lines end in CRLF (a bare LF is tolerated).
 * - The head (with any 1xx interim heads before it, and chunked trailers) is capped at `maxHeadBytes`.
 * - 1xx interim responses are skipped; 101 is refused (nothing here asks to switch protocols).
 * - The body is framed by `Transfer-Encoding: chunked` (extensions and trailers allowed), else by
 *   `Content-Length`, else by the end of the stream; 204 and 304 have none. An answer with both
 *   is refused (RFC 9112 §6.1: a sign of request smuggling).
 * - Lines are checked by single passes over their characters, never by a backtracking regular
 *   expression: a hostile server's 64 KiB head costs linear time.
 * - The body is capped at `maxBodyBytes`: a larger Content-Length, or more bytes, fails at once.
 * - Bytes after a complete response are ignored: the caller closes the connection.
 */

/** The largest head accepted unless told otherwise (64 KiB). */
export const DEFAULT_MAX_HEAD_BYTES = 64 * 1024;

/** The longest chunk-size line (with its extensions) accepted. */
const MAX_CHUNK_LINE_BYTES = 4096;

/** A response the server sent that cannot be used; `message` is short and quotes at most a brief excerpt. */
export class Http1ParseError extends Error {
  override readonly name = 'Http1ParseError';
  /** The final response's status, when its status line was read. */
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined) {
    super(message);
    this.status = status;
  }
}

/** A complete response. */
export interface Http1Response {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface Http1ParserOptions {
  /** The largest body accepted; more fails with `the answer is larger than N bytes`. */
  readonly maxBodyBytes: number;
  /** The largest head (status line, headers, interim heads, trailers); DEFAULT_MAX_HEAD_BYTES when absent. */
  readonly maxHeadBytes?: number;
}

type State = 'status-line' | 'headers' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'to-close' | 'done' | 'failed';

const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1');

/** Parses one response; feed it with `push` for every chunk read and `finish` at the end of the stream. */
export class Http1ResponseParser {
  private readonly maxBodyBytes: number;
  private readonly maxHeadBytes: number;
  private state: State = 'status-line';
  /** Unconsumed bytes, from `pos` on. */
  private buffer: Buffer = Buffer.alloc(0);
  private pos = 0;
  /**
   * While a line is incomplete: the chunks after `buffer` that hold no line end yet, kept aside so that
   * a line arriving a byte at a time is copied once when it completes, not once per chunk.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The limit and message of the incomplete line `readLine` waits for; undefined when it waits for none. */
  private waitingLine: { limit: number; tooLong: string } | undefined;
  private seenBytes = 0;
  private headBytes = 0;
  private statusCode: number | undefined;
  private headers = new Map<string, string>();
  /** Bytes left in the current fixed-length body or chunk. */
  private remaining = 0;
  private readonly bodyChunks: Buffer[] = [];
  private bodyBytes = 0;
  private response: Http1Response | undefined;

  constructor(options: Http1ParserOptions) {
    this.maxBodyBytes = options.maxBodyBytes;
    this.maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  }

  /** The final response's status once its status line has been read (1xx interim statuses are not kept). */
  get status(): number | undefined {
    return this.statusCode;
  }

  /** True once any byte has arrived. */
  get started(): boolean {
    return this.seenBytes > 0;
  }

  /** True when the end of the stream would complete the answer (it is complete, or delimited by the close). */
  get completeAtEnd(): boolean {
    return (this.state === 'done' && this.response !== undefined) || this.state === 'to-close';
  }

  /**
   * Consumes `chunk`. Returns the response when this chunk completes it, else undefined (also for any
   * chunk after completion). Throws Http1ParseError for an unusable answer; the parser is then spent.
   */
  push(chunk: Uint8Array): Http1Response | undefined {
    if (this.state === 'done') return undefined;
    if (this.state === 'failed') throw new Http1ParseError('the parser already failed', this.statusCode);
    if (chunk.length === 0) return undefined;
    this.seenBytes += chunk.length;
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const waiting = this.waitingLine;
    if (waiting !== undefined && bytes.indexOf(10) < 0) {
      // Still inside the same line: only its length is checked until its end arrives.
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.buffer.length - this.pos + this.pendingBytes > waiting.limit) {
        this.state = 'failed';
        throw this.error(waiting.tooLong);
      }
      return undefined;
    }
    const rest = this.pos < this.buffer.length ? [this.buffer.subarray(this.pos)] : [];
    const parts = [...rest, ...this.pending, bytes];
    this.buffer = parts.length === 1 ? bytes : Buffer.concat(parts);
    this.pending = [];
    this.pendingBytes = 0;
    this.pos = 0;
    try {
      this.run();
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    if (this.response === undefined) return undefined;
    this.buffer = Buffer.alloc(0);
    this.pos = 0;
    return this.response;
  }

  /** The end of the stream: returns the response if it is complete (or delimited by the close), else throws. */
  finish(): Http1Response {
    if (this.state === 'done' && this.response !== undefined) return this.response;
    if (this.state === 'to-close') {
      this.complete();
      return this.response!;
    }
    const wasFailed = this.state === 'failed';
    this.state = 'failed';
    if (wasFailed) throw new Http1ParseError('the parser already failed', this.statusCode);
    if (this.seenBytes === 0) throw this.error('the connection closed before an answer arrived');
    throw this.error('the connection closed before the answer was complete');
  }

  private run(): void {
    while (this.state !== 'done') {
      switch (this.state) {
        case 'status-line': {
          this.checkPrefix();
          const line = this.readHeadLine();
          if (line === undefined) return;
          const status = parseStatusLine(line);
          if (status === undefined) throw this.error(`the answer is not HTTP/1.x (it starts with ${excerpt(line)})`);
          this.statusCode = status;
          this.headers = new Map();
          this.state = 'headers';
          break;
        }
        case 'headers': {
          const line = this.readHeadLine();
          if (line === undefined) return;
          if (line === '') this.endOfHead();
          else this.addHeader(line, this.headers);
          break;
        }
        case 'fixed':
        case 'chunk-data': {
          const available = this.buffer.length - this.pos;
          if (available === 0) return;
          const take = Math.min(available, this.remaining);
          this.appendBody(this.buffer.subarray(this.pos, this.pos + take));
          this.pos += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.state === 'fixed') this.complete();
            else this.state = 'chunk-end';
          }
          break;
        }
        case 'chunk-size': {
          const line = this.readLine(MAX_CHUNK_LINE_BYTES, 'a chunk-size line is too long');
          if (line === undefined) return;
          const hex = parseChunkSizeLine(line);
          if (hex === undefined) throw this.error(`invalid chunk size ${excerpt(line)}`);
          const digits = hex.replace(/^0+/, '');
          // More than 8 hex digits is at least 4 GiB: past any cap, and past exact arithmetic soon after.
          const size = digits.length > 8 ? Number.POSITIVE_INFINITY : digits === '' ? 0 : parseInt(digits, 16);
          if (this.bodyBytes + size > this.maxBodyBytes) throw this.tooLarge();
          if (size === 0) {
            this.state = 'trailers';
          } else {
            this.remaining = size;
            this.state = 'chunk-data';
          }
          break;
        }
        case 'chunk-end': {
          const line = this.readLine(2, 'a chunk does not end with CRLF');
          if (line === undefined) return;
          if (line !== '') throw this.error('a chunk does not end with CRLF');
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const line = this.readHeadLine();
          if (line === undefined) return;
          if (line === '') this.complete();
          else this.addHeader(line, new Map());
          break;
        }
        case 'to-close': {
          if (this.pos < this.buffer.length) this.appendBody(this.buffer.subarray(this.pos));
          this.pos = this.buffer.length;
          return;
        }
        default:
          return;
      }
    }
  }

  /** Fails fast on an answer that does not even start like HTTP, without waiting for a line end. */
  private checkPrefix(): void {
    if (this.headBytes > 0) return; // an interim response already started like HTTP
    const have = Math.min(HTTP_PREFIX.length, this.buffer.length - this.pos);
    for (let i = 0; i < have; i++) {
      if (this.buffer[this.pos + i] !== HTTP_PREFIX[i]) {
        // Quote up to the first wrong byte: the same text however the bytes were split.
        throw this.error(`the answer is not HTTP/1.x (it starts with ${excerpt(this.buffer.toString('latin1', this.pos, this.pos + i + 1))})`);
      }
    }
  }

  /** Reads a line of the head (or of interim heads, or trailers), counting it against the head cap. */
  private readHeadLine(): string | undefined {
    const start = this.pos;
    const line = this.readLine(this.maxHeadBytes - this.headBytes, `the answer's headers are larger than ${this.maxHeadBytes} bytes`);
    this.headBytes += this.pos - start;
    return line;
  }

  /** Reads one line ending in LF (a CR before it is dropped), of at most `limit` bytes with its end; undefined if incomplete. */
  private readLine(limit: number, tooLong: string): string | undefined {
    const end = this.buffer.indexOf(10, this.pos);
    const length = (end < 0 ? this.buffer.length : end + 1) - this.pos;
    if (length > limit) throw this.error(tooLong);
    this.waitingLine = end < 0 ? { limit, tooLong } : undefined;
    if (end < 0) return undefined;
    const stop = end > this.pos && this.buffer[end - 1] === 13 ? end - 1 : end;
    const line = this.buffer.toString('latin1', this.pos, stop);
    this.pos = end + 1;
    return line;
  }

  private addHeader(line: string, into: Map<string, string>): void {
    if (line.startsWith(' ') || line.startsWith('\t')) throw this.error('the answer folds a header line');
    const header = parseHeaderLine(line);
    if (header === undefined) throw this.error(`invalid header line ${excerpt(line)}`);
    const name = header.name.toLowerCase();
    const value = header.value;
    const previous = into.get(name);
    into.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }

  private endOfHead(): void {
    const status = this.statusCode!;
    if (status < 200) {
      if (status === 101) throw this.error('the server switched protocols (101), which was not asked for');
      // An interim answer (100 Continue, 103 Early Hints): the final one follows. Its bytes stay counted.
      this.statusCode = undefined;
      this.state = 'status-line';
      return;
    }
    if (status === 204 || status === 304) {
      this.complete();
      return;
    }
    const transferEncoding = this.headers.get('transfer-encoding');
    if (transferEncoding !== undefined && this.headers.has('content-length')) {
      throw this.error('the answer has both Transfer-Encoding and Content-Length');
    }
    if (transferEncoding !== undefined) {
      const codings = transferEncoding
        .split(',')
        .map((coding) => coding.trim().toLowerCase())
        .filter((coding) => coding !== '');
      if (codings.length !== 1 || codings[0] !== 'chunked') throw this.error(`unsupported transfer-encoding ${excerpt(transferEncoding)}`);
      this.state = 'chunk-size';
      return;
    }
    const contentLength = this.headers.get('content-length');
    if (contentLength !== undefined) {
      const values = contentLength.split(',').map((value) => value.trim());
      // Repeated (or comma-joined) values are accepted only when they agree.
      if (!values.every((value) => /^\d+$/.test(value) && value === values[0])) {
        throw this.error(`invalid content-length ${excerpt(contentLength)}`);
      }
      // Beyond 15 digits Number() is inexact, but such a length is past any cap anyway.
      const length = Number(values[0]);
      if (length > this.maxBodyBytes) throw this.tooLarge();
      if (length === 0) {
        this.complete();
      } else {
        this.remaining = length;
        this.state = 'fixed';
      }
      return;
    }
    this.state = 'to-close';
  }

  private appendBody(bytes: Buffer): void {
    this.bodyBytes += bytes.length;
    if (this.bodyBytes > this.maxBodyBytes) throw this.tooLarge();
    // Copy: the caller may reuse the chunk's memory once push returns.
    this.bodyChunks.push(Buffer.from(bytes));
  }

  private complete(): void {
    this.state = 'done';
    this.response = { status: this.statusCode!, headers: this.headers, body: Buffer.concat(this.bodyChunks, this.bodyBytes) };
  }

  private tooLarge(): Http1ParseError {
    return this.error(`the answer is larger than ${this.maxBodyBytes} bytes`);
  }

  private error(message: string): Http1ParseError {
    return new Http1ParseError(message, this.statusCode);
  }
}

/** A character allowed in a header value, reason phrase or chunk extension: anything but controls other than tab. */
function isFieldChar(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code !== 0x7f);
}

function isFieldText(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isFieldChar(text.charCodeAt(i))) return false;
  return true;
}

/** RFC 9110 tchar: the characters of a header name. */
function isTokenChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(code))
  );
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** `HTTP/1.0` or `HTTP/1.1`, a space, a status 100–999, then nothing or a blank and a reason: the status, else undefined. */
export function parseStatusLine(line: string): number | undefined {
  if (!line.startsWith('HTTP/1.') || (line[7] !== '0' && line[7] !== '1') || line[8] !== ' ') return undefined;
  if (line.charCodeAt(9) < 0x31 || line.charCodeAt(9) > 0x39 || !isDigit(line.charCodeAt(10)) || !isDigit(line.charCodeAt(11))) return undefined;
  if (line.length > 12 && (!isBlank(line.charCodeAt(12)) || !isFieldText(line, 13, line.length))) return undefined;
  return Number(line.slice(9, 12));
}

/** `name: value` with blanks around the value dropped; undefined for a malformed line. */
export function parseHeaderLine(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon < 1) return undefined;
  for (let i = 0; i < colon; i++) if (!isTokenChar(line.charCodeAt(i))) return undefined;
  let start = colon + 1;
  let end = line.length;
  while (start < end && isBlank(line.charCodeAt(start))) start++;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  if (!isFieldText(line, start, end)) return undefined;
  return { name: line.slice(0, colon), value: line.slice(start, end) };
}

/** A chunk-size line (hex digits, optional blanks, optional `;extensions`): the hex digits, else undefined. */
export function parseChunkSizeLine(line: string): string | undefined {
  let i = 0;
  while (i < line.length && isHexDigit(line.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const digits = line.slice(0, i);
  while (i < line.length && isBlank(line.charCodeAt(i))) i++;
  if (i === line.length) return digits;
  return line[i] === ';' && isFieldText(line, i + 1, line.length) ? digits : undefined;
}

/** A short, printable, quoted excerpt of text from the server: at most 24 characters, escapes for the rest. */
function excerpt(text: string): string {
  const cut = text.length > 24 ? `${text.slice(0, 24)}…` : text;
  return `"${cut.replace(/[^\x20-\x7e…]|["\\]/g, (char) => (char === '"' || char === '\\' ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`))}"`;
}
