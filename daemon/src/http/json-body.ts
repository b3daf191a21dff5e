/**
 * The JSON body rules, in one place for both paths: the express parser (every route with a body) and
 * the direct lookup route's reader, which must answer every body exactly as the parser does.
 */
import { MAX_BODY_BYTES } from '@dcs/shared';
import express, { type RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';

/**
 * The Content-Type values the lookup route reads itself (lower-cased). Every other JSON spelling
 * (another charset, a `+json` type, parameters) is left to the express parser.
 */
export const PLAIN_JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/** The express JSON parser: at most MAX_BODY_BYTES, an object or array at the top level. */
export function jsonBodyParser(): RequestHandler {
  return express.json({ limit: MAX_BODY_BYTES, strict: true, type: 'application/json' });
}

/** An error of the kind body-parser raises (its `type`), so the one error mapper answers it as for express. */
function bodyError(type: 'entity.too.large' | 'entity.parse.failed'): Error {
  return Object.assign(new Error(type), { type });
}

const FIRST_NON_WHITESPACE = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/;

/**
 * Reads a body as jsonBodyParser does, for a request whose Content-Type is in PLAIN_JSON_TYPES and
 * that has no Content-Encoding: at most MAX_BODY_BYTES (more is read to the end and refused), UTF-8
 * with a leading BOM dropped, an empty body is `{}`, the top level must be an object or an array. A
 * request the client abandons gets no answer.
 */
export function readJsonBody(req: IncomingMessage, done: (error: unknown, body?: unknown) => void): void {
  const announced = Number(req.headers['content-length']);
  let tooLarge = announced > MAX_BODY_BYTES;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      chunks.length = 0;
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (tooLarge) return done(bodyError('entity.too.large'));
    let text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) return done(undefined, {});
    const first = text[0] === '{' || text[0] === '[' ? text[0] : FIRST_NON_WHITESPACE.exec(text)?.[1];
    if (first !== '{' && first !== '[') return done(bodyError('entity.parse.failed'));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return done(bodyError('entity.parse.failed'));
    }
    done(undefined, body);
  });
}
