import { z } from 'zod';
import { IdSchema, RegistryHostSchema, TimestampSchema } from './common.js';
import { RoleSchema } from './tokens.js';

/** How an audited request ended. */
export const AuditOutcomeSchema = z.enum(['ok', 'denied', 'not_found', 'error']);
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

/** The largest page `GET /v1/audit` returns. */
export const MAX_AUDIT_PAGE = 500;

/** One row of the hash-chained audit log. Names hosts, ids and outcomes; never a secret or a token value. */
export const AuditEventSchema = z.strictObject({
  seq: z.int().min(1),
  at: TimestampSchema,
  requestId: z.string().nullable(),
  tokenId: z.string().nullable(),
  tokenName: z.string().nullable(),
  role: RoleSchema.nullable(),
  action: z.string(),
  host: z.string().nullable(),
  targetId: z.string().nullable(),
  outcome: AuditOutcomeSchema,
  detail: z.record(z.string(), z.unknown()).nullable(),
  /** SHA-256 chaining this row to the previous one (hex). */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** Query of `GET /v1/audit`: filters, page size and the cursor returned by the previous page. */
export const AuditQuerySchema = z.strictObject({
  /** Only events at or after this instant. */
  since: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value).toISOString())
    .optional(),
  host: RegistryHostSchema.optional(),
  action: z
    .string()
    .max(64)
    .regex(/^[a-z]+(?:\.[a-z_]+)*$/, 'an action such as credential.get')
    .optional(),
  /** A token id (`tok_…`). */
  token: IdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(100),
  /** `asc`: oldest first (log order, the default); `desc`: newest first. */
  order: z.enum(['asc', 'desc']).default('asc'),
  /** Opaque: pass back the `nextCursor` of the previous page. */
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'not a cursor returned by this API')
    .optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

/** Answer of `GET /v1/audit`: events in the order asked, and the cursor of the next page (null on the last page). */
export const AuditPageSchema = z.strictObject({
  events: z.array(AuditEventSchema),
  nextCursor: z.string().nullable(),
});
export type AuditPage = z.infer<typeof AuditPageSchema>;
