import { z } from 'zod';
import { InvalidRegistryHostError, normalizeRegistryHost } from '../registry-host.js';

/** A registry host in any client form, validated and turned into its canonical `host[:port]`. */
export const RegistryHostSchema = z
  .string()
  .max(2048)
  .transform((value, ctx) => {
    try {
      return normalizeRegistryHost(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: error instanceof InvalidRegistryHostError ? error.message : 'invalid registry host',
      });
      return z.NEVER;
    }
  });

/** Text without control characters (names, usernames, descriptions). */
export function plainText(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');
}

/** A registry username: docker's `<token>` marker is allowed and kept verbatim. */
export const UsernameSchema = plainText(1, 256);

/** A password or PAT: write-only, never in a response other than the helper's lookup. */
export const SecretSchema = z.string().min(1).max(16 * 1024);

/** An ISO-8601 timestamp as the daemon writes it. */
export const TimestampSchema = z.iso.datetime();

/** A server-generated identifier (`int_…`, `tok_…`). */
export const IdSchema = z.string().regex(/^[a-z]{3}_[0-9a-f]{16}$/, 'not a valid id');

/** Path params carrying an id. */
export const IdParamsSchema = z.strictObject({ id: IdSchema });
export type IdParams = z.infer<typeof IdParamsSchema>;
