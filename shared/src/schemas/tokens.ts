import { z } from 'zod';
import { IdSchema, RegistryHostSchema, TimestampSchema, plainText } from './common.js';

/** The roles a token can carry, from most to least powerful. */
export const ROLES = ['admin', 'manager', 'auditor', 'runner'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** The longest lifetime a token may be given: one year. */
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

/** Body of `POST /v1/tokens`. */
export const CreateTokenBodySchema = z.strictObject({
  name: plainText(1, 100),
  role: RoleSchema,
  ttlSeconds: z.int().min(60).max(MAX_TOKEN_TTL_SECONDS).optional(),
  hosts: z.array(RegistryHostSchema).min(1).max(100).optional(),
});
export type CreateTokenBody = z.infer<typeof CreateTokenBodySchema>;

/** What the API says about a token. It never contains the token value. */
export const TokenSummarySchema = z.strictObject({
  id: IdSchema,
  name: z.string(),
  role: RoleSchema,
  /** The hosts it is limited to; null is every host. */
  hosts: z.array(z.string()).nullable(),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema.nullable(),
  revokedAt: TimestampSchema.nullable(),
});
export type TokenSummary = z.infer<typeof TokenSummarySchema>;

/** Answer of `POST /v1/tokens`: the summary plus the token value, shown this once. */
export const CreatedTokenSchema = TokenSummarySchema.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedTokenSchema>;

/** Answer of `GET /v1/whoami`: the token that asks, as the daemon sees it (any role may ask). */
export const WhoAmISchema = TokenSummarySchema.pick({ id: true, name: true, role: true, hosts: true, expiresAt: true });
export type WhoAmI = z.infer<typeof WhoAmISchema>;

/** Body of `GET /v1/tokens`. */
export const TokenListSchema = z.strictObject({ tokens: z.array(TokenSummarySchema) });
export type TokenList = z.infer<typeof TokenListSchema>;
