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

/** Where an integration's credential comes from: stored as given (`static`), or minted from a cloud identity. */
export const IntegrationProviderSchema = z.enum(['static', 'aws-ecr', 'azure-acr', 'google']);
export type IntegrationProvider = z.infer<typeof IntegrationProviderSchema>;
/** The providers that mint credentials. */
export type CloudProviderName = Exclude<IntegrationProvider, 'static'>;

/** An AWS region name (`eu-west-1`, `us-gov-west-1`, `cn-north-1`). */
const AwsRegionSchema = z.string().regex(/^[a-z]{2,6}(?:-[a-z0-9]{1,12}){1,3}-\d{1,2}$/, 'must be an AWS region name such as eu-west-1');
/** A secret part of a cloud identity: write-only, like `secret`. */
const IdentitySecretSchema = plainText(1, 1024);

/** The AWS identity of an `aws-ecr` integration; `secretAccessKey` is write-only. */
export const AwsIdentitySchema = z.strictObject({
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id'),
  secretAccessKey: IdentitySecretSchema,
  /** Required when the host is not an ECR host name; otherwise overrides the host's region. */
  region: AwsRegionSchema.optional(),
  /** Assumed through STS AssumeRole before the token is requested. */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')
    .optional(),
  externalId: z
    .string()
    .regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2 to 1224 characters of letters, digits and +=,.@:/-')
    .optional(),
  /** Length of the role session, 900–43200 s (default 3600); only with roleArn. */
  sessionDurationSeconds: z.int().min(900).max(43_200).optional(),
});

/** The Entra ID application of an `azure-acr` integration; `clientSecret` is write-only. */
export const AzureIdentitySchema = z.strictObject({
  tenantId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/, 'must be a tenant id or domain name'),
  clientId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/, 'must be an application (client) id'),
  clientSecret: IdentitySecretSchema,
});

/** The service account of a `google` integration: its JSON key as text, write-only. */
export const GoogleIdentitySchema = z.strictObject({
  serviceAccountKey: z.string().min(2).max(16 * 1024),
});

/** The fields every integration has besides its credential. */
const INTEGRATION_SETTINGS = {
  export: z.boolean().default(true),
  description: plainText(0, 1000).optional(),
  /** When the credential or the cloud identity expires (a PAT's or a client secret's end date); lookups warn a week ahead. */
  expiresAt: ExpiresAtSchema.optional(),
  /** PEM CA certificate(s) trusted, besides the system CAs, for this registry over TLS. Not secret. */
  caCert: CaCertSchema.optional(),
};

/**
 * Body of `POST /v1/integrations`: a static credential (`username` and `secret`; `provider` may be
 * left out), or a cloud identity the daemon mints registry credentials from (`provider` and its object).
 */
export const CreateIntegrationBodySchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('static').optional(),
    host: RegistryHostSchema,
    username: UsernameSchema,
    secret: SecretSchema,
    ...INTEGRATION_SETTINGS,
  }),
  z.strictObject({ provider: z.literal('aws-ecr'), host: RegistryHostSchema, aws: AwsIdentitySchema, ...INTEGRATION_SETTINGS }),
  z.strictObject({ provider: z.literal('azure-acr'), host: RegistryHostSchema, azure: AzureIdentitySchema, ...INTEGRATION_SETTINGS }),
  z.strictObject({ provider: z.literal('google'), host: RegistryHostSchema, google: GoogleIdentitySchema, ...INTEGRATION_SETTINGS }),
]);
export type CreateIntegrationBody = z.infer<typeof CreateIntegrationBodySchema>;
/**
 * Body of `PATCH /v1/integrations/:id`: at least one field; the host and the provider never change.
 * `username` and `secret` belong to static integrations; `aws`, `azure` or `google` replaces the
 * identity of an integration of that provider.
 */
export const UpdateIntegrationBodySchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    secret: SecretSchema.optional(),
    aws: AwsIdentitySchema.optional(),
    azure: AzureIdentitySchema.optional(),
    google: GoogleIdentitySchema.optional(),
    export: z.boolean().optional(),
    description: plainText(0, 1000).nullable().optional(),
    expiresAt: ExpiresAtSchema.nullable().optional(),
    caCert: CaCertSchema.nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'give at least one of username, secret, aws, azure, google, export, description, expiresAt, caCert',
  })
  .refine((body) => [body.aws, body.azure, body.google].filter((value) => value !== undefined).length <= 1, {
    message: 'give at most one of aws, azure, google',
  });
export type UpdateIntegrationBody = z.infer<typeof UpdateIntegrationBodySchema>;

/**
 * The non-secret part of a cloud identity, as summaries show it: never an access key, a client
 * secret or a private key.
 */
export const IdentitySummarySchema = z.union([
  z.strictObject({ region: z.string().optional(), roleArn: z.string().optional(), sessionDurationSeconds: z.int().optional() }),
  z.strictObject({ tenantId: z.string(), clientId: z.string() }),
  z.strictObject({ clientEmail: z.string(), projectId: z.string().optional() }),
]);
export type IdentitySummary = z.infer<typeof IdentitySummarySchema>;

/** What the API says about an integration. It never contains the secret. */
export const IntegrationSummarySchema = z.strictObject({
  id: IdSchema,
  host: z.string(),
  /** For a cloud provider, the username its minted credentials carry. */
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
  provider: IntegrationProviderSchema,
  /** The cloud identity's non-secret fields; null for a static integration. */
  identity: IdentitySummarySchema.nullable(),
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
