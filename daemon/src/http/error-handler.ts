import type { ErrorBody, ErrorCode, ValidationIssue } from '@dcs/shared';
import { ERROR_STATUS } from '@dcs/shared';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ServerResponse } from 'node:http';
import { ZodError } from 'zod';
import { AppError, RateLimitedError, ValidationError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { RequestState } from './preflight.js';

const INTERNAL_MESSAGE = 'internal error; see the daemon log for this request id';

const BODY_PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  'entity.too.large': { code: 'payload_too_large', message: 'request body is too large' },
  'entity.parse.failed': { code: 'invalid_json', message: 'request body is not valid JSON' },
  'encoding.unsupported': { code: 'unsupported_media_type', message: 'unsupported content encoding' },
  'charset.unsupported': { code: 'unsupported_media_type', message: 'unsupported charset; send UTF-8 JSON' },
  'request.aborted': { code: 'validation_failed', message: 'request body was cut short' },
  'request.size.invalid': { code: 'validation_failed', message: 'request body length does not match Content-Length' },
};

/** The express error handler: every error a route or middleware raises ends here. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, error, (res.locals as Partial<RequestState>).requestId, logger);
  };
}

/** Answers an error as the API does: its status and ErrorBody, Retry-After on 429; a 5xx is logged. */
export function sendError(res: ServerResponse, error: unknown, requestId: string | undefined, logger: Logger): void {
  const { status, body } = toErrorBody(error, requestId);
  if (status >= 500) {
    logger.error('request failed', { requestId, error });
  }
  if (error instanceof RateLimitedError) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  else if (isStoreBusy(error)) res.setHeader('Retry-After', '1');
  sendJson(res, status, body);
}

/** Ends the response with a JSON body, as express's res.json does. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Answers 404 for routes that do not exist. */
export const notFoundHandler: RequestHandler = () => {
  throw new AppError('route_not_found', 'no such route; check the base URL');
};

/** Answers 405 for a known path with a method it does not take. */
export const methodNotAllowed: RequestHandler = () => {
  throw new AppError('method_not_allowed', 'method not allowed on this route');
};

/** The one builder of an ErrorBody: every error answer, on every path, is shaped here. */
export function errorBody(code: ErrorCode, message: string, requestId: string | undefined, issues?: ValidationIssue[]): ErrorBody {
  return { error: { code, message, ...(requestId ? { requestId } : {}), ...(issues?.length ? { issues } : {}) } };
}

/**
 * Whether SQLite gave up waiting for a lock another process holds (SQLITE_BUSY after the busy
 * timeout, or SQLITE_LOCKED): the store is there but busy, so the answer is 503, not 500.
 */
function isStoreBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (error as Error | null)?.name === 'SqliteError' && typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/** The only code that turns an error into a status and an ErrorBody. Never echoes a received value. */
function toErrorBody(error: unknown, requestId: string | undefined): { status: number; body: ErrorBody } {
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
    const message = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    return { status: 400, body: errorBody('validation_failed', `invalid request: ${message}`, requestId, issues) };
  }
  if (error instanceof ValidationError) {
    return { status: 400, body: errorBody('validation_failed', error.message, requestId, error.issues) };
  }
  if (error instanceof AppError) {
    const message = error.expose ? error.message : INTERNAL_MESSAGE;
    return { status: error.status, body: errorBody(error.code, message, requestId) };
  }
  if (isStoreBusy(error)) {
    return { status: 503, body: errorBody('unavailable', 'the credential store is locked by another process; retry shortly', requestId) };
  }
  const type = (error as { type?: unknown } | null)?.type;
  const parserError = typeof type === 'string' ? BODY_PARSER_ERRORS[type] : undefined;
  if (parserError) {
    return { status: ERROR_STATUS[parserError.code], body: errorBody(parserError.code, parserError.message, requestId) };
  }
  // Other client errors express and body-parser raise with a 4xx status: a path param that is not
  // valid percent-encoding (URIError), a body that fails to decompress. Their text may quote the input.
  const clientStatus = (error as { status?: unknown } | null)?.status;
  if (typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
    const message = error instanceof URIError ? 'the request path is not valid percent-encoding' : 'the request body could not be read';
    return { status: 400, body: errorBody('validation_failed', message, requestId) };
  }
  return { status: 500, body: errorBody('internal', INTERNAL_MESSAGE, requestId) };
}
