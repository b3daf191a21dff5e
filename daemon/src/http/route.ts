import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { RequestContext } from '../services/context.js';
import type { Principal } from '../auth/authorize.js';
import type { RequestState } from './preflight.js';

/** What a handler answers: a status and, unless 204, a JSON body. */
export interface Reply {
  status: number;
  body?: unknown;
  /** A body already serialized as JSON text, sent as is (instead of `body`). */
  json?: string;
  /** Extra response headers (ASCII values). */
  headers?: Record<string, string>;
}

/** The schemas a route parses its input with; absent parts must be empty. */
export interface RouteSchemas<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params?: P;
  query?: Q;
  body?: B;
}

/** The typed input a handler receives, already parsed (coerced, defaulted). */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

const EMPTY = z.strictObject({});

/**
 * Wraps a handler: parses params, query and body with the route's zod schemas (unknown fields
 * rejected), passes the typed input and the request context, and sends the reply. Never writes onto req.
 */
export function route<P extends z.ZodType = typeof EMPTY, Q extends z.ZodType = typeof EMPTY, B extends z.ZodType = typeof EMPTY>(
  schemas: RouteSchemas<P, Q, B>,
  handler: (input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>, ctx: RequestContext) => Reply | Promise<Reply>,
): RequestHandler {
  return async (req: Request, res: Response, _next: NextFunction) => {
    if (schemas.body && !req.is('application/json')) {
      throw new AppError('unsupported_media_type', 'send the body as application/json');
    }
    const input = {
      params: (schemas.params ?? EMPTY).parse({ ...req.params }),
      query: (schemas.query ?? EMPTY).parse({ ...(req.query as object) }),
      body: schemas.body ? schemas.body.parse(req.body) : undefined,
    } as RouteInput<z.output<P>, z.output<Q>, z.output<B>>;
    const reply = await handler(input, requestContext(res));
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.json !== undefined) {
      res.status(reply.status).type('application/json').send(reply.json);
    } else if (reply.body === undefined) {
      res.status(reply.status).end();
    } else {
      res.status(reply.status).json(reply.body);
    }
  };
}

/** The request context: the pre-flight's request id and the principal `authenticate` set (res.locals). */
export function requestContext(res: Response): RequestContext {
  const state = res.locals as RequestState;
  return { principal: state.principal as Principal, requestId: state.requestId };
}
