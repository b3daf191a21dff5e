import { z } from 'zod';
import { UsernameSchema } from './common.js';

/** The server string a client gave the helper, in any client form. */
const ServerUrlSchema = z.string().min(1).max(2048);

/**
 * Body of `POST /v1/credentials/get` and `/erase`: `ServerURL`, in the helper protocol's casing as
 * `/store` takes it, or its alias `serverURL` (the casing these routes took first); exactly one of
 * them. Parsed into `{ ServerURL }`.
 */
export const ServerUrlBodySchema = z
  .strictObject({
    ServerURL: ServerUrlSchema.describe('The server as the client gave it; required unless the alias serverURL is given').optional(),
    serverURL: ServerUrlSchema.describe('Alias of ServerURL, accepted for clients written before it').optional(),
  })
  .superRefine((body, ctx) => {
    if (body.ServerURL === undefined && body.serverURL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ServerURL'], message: 'required' });
    } else if (body.ServerURL !== undefined && body.serverURL !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['serverURL'], message: 'give ServerURL or its alias serverURL, not both' });
    }
  })
  .transform((body) => ({ ServerURL: (body.ServerURL ?? body.serverURL)! }));
export type ServerUrlBody = z.infer<typeof ServerUrlBodySchema>;

/** Answer of `POST /v1/credentials/get`: the helper prints exactly these fields. */
export const LookupResponseSchema = z.strictObject({
  ServerURL: z.string(),
  Username: z.string(),
  Secret: z.string(),
});
export type LookupResponse = z.infer<typeof LookupResponseSchema>;

/** Answer of `GET /v1/credentials`: Docker-CLI key → username, never a secret. */
export const CredentialListSchema = z.record(z.string(), z.string());
export type CredentialList = z.infer<typeof CredentialListSchema>;

/** Body of `POST /v1/credentials/store`, in the helper protocol's casing; an empty Secret is allowed as in docker. */
export const StoreCredentialBodySchema = z.strictObject({
  ServerURL: ServerUrlSchema,
  Username: UsernameSchema,
  Secret: z.string().max(16 * 1024),
});
export type StoreCredentialBody = z.infer<typeof StoreCredentialBodySchema>;
