import { z } from 'zod';
import { UsernameSchema } from './common.js';

/** Body of `POST /v1/credentials/get` and `/erase`: the server string a client gave the helper. */
export const ServerUrlBodySchema = z.strictObject({ serverURL: z.string().min(1).max(2048) });
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
  ServerURL: z.string().min(1).max(2048),
  Username: UsernameSchema,
  Secret: z.string().max(16 * 1024),
});
export type StoreCredentialBody = z.infer<typeof StoreCredentialBodySchema>;
