import { z } from 'zod';
import { IdSchema, RegistryHostSchema, SecretSchema, TimestampSchema, UsernameSchema, plainText } from './common.js';

/** An instant with an offset, stored as UTC ISO-8601. */
const ExpiresAtSchema = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

/** One or more PEM certificates. */
const CaCertSchema = z
  .string()
  .max(32 * 1024)
  .regex(/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be PEM certificate(s)');

/** How a credential test against the registry's `/v2/` endpoint ended. */
export const RegistryTestResultSchema = z.enum(['ok', 'unauthorized', 'unreachable', 'error']);
export type RegistryTestResult = z.infer<typeof RegistryTestResultSchema>;

/** Body of `POST /v1/integrations`. */
export const CreateIntegrationBodySchema = z.strictObject({
  host: RegistryHostSchema,
  username: UsernameSchema,
  secret: SecretSchema,
  export: z.boolean().default(true),
  description: plainText(0, 1000).optional(),
  /** When the registry credential itself expires (a PAT's end date); lookups warn a week ahead. */
  expiresAt: ExpiresAtSchema.optional(),
  /** PEM CA certificate(s) trusted, besides the system CAs, when testing this registry over TLS. Not secret. */
  caCert: CaCertSchema.optional(),
});
export type CreateIntegrationBody = z.infer<typeof CreateIntegrationBodySchema>;

/** Body of `PATCH /v1/integrations/:id`: at least one field; the host never changes. */
export const UpdateIntegrationBodySchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    secret: SecretSchema.optional(),
    export: z.boolean().optional(),
    description: plainText(0, 1000).nullable().optional(),
    expiresAt: ExpiresAtSchema.nullable().optional(),
    caCert: CaCertSchema.nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'give at least one of username, secret, export, description, expiresAt, caCert',
  });
export type UpdateIntegrationBody = z.infer<typeof UpdateIntegrationBodySchema>;

/** What the API says about an integration. It never contains the secret. */
export const IntegrationSummarySchema = z.strictObject({
  id: IdSchema,
  host: z.string(),
  username: z.string(),
  export: z.boolean(),
  description: z.string().nullable(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  expiresAt: TimestampSchema.nullable(),
  caCert: z.string().nullable(),
  lastTestedAt: TimestampSchema.nullable(),
  lastTestResult: RegistryTestResultSchema.nullable(),
  /** A short reason (status codes, error kinds), never a secret or a registry's answer body. */
  lastTestDetail: z.string().nullable(),
});
export type IntegrationSummary = z.infer<typeof IntegrationSummarySchema>;

/** The summary's fields in its order: the one list the daemon builds summaries and its listing SQL from. */
export const INTEGRATION_SUMMARY_FIELDS = IntegrationSummarySchema.keyof().options;

/** Body of `GET /v1/integrations`. */
export const IntegrationListSchema = z.strictObject({ integrations: z.array(IntegrationSummarySchema) });
export type IntegrationList = z.infer<typeof IntegrationListSchema>;

/** Answer of `POST /v1/integrations/:id/test`: the outcome, also recorded on the integration. */
export const IntegrationTestReportSchema = z.strictObject({
  id: IdSchema,
  host: z.string(),
  result: RegistryTestResultSchema,
  detail: z.string(),
  testedAt: TimestampSchema,
});
export type IntegrationTestReport = z.infer<typeof IntegrationTestReportSchema>;
