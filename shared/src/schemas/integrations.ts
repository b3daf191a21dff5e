import { z } from 'zod';
import { IdSchema, RegistryHostSchema, SecretSchema, TimestampSchema, UsernameSchema, plainText } from './common.js';

/** Body of `POST /v1/integrations`. */
export const CreateIntegrationBodySchema = z.strictObject({
  host: RegistryHostSchema,
  username: UsernameSchema,
  secret: SecretSchema,
  export: z.boolean().default(true),
  description: plainText(0, 1000).optional(),
});
export type CreateIntegrationBody = z.infer<typeof CreateIntegrationBodySchema>;

/** Body of `PATCH /v1/integrations/:id`: at least one field; the host never changes. */
export const UpdateIntegrationBodySchema = z
  .strictObject({
    username: UsernameSchema.optional(),
    secret: SecretSchema.optional(),
    export: z.boolean().optional(),
    description: plainText(0, 1000).nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'give at least one of username, secret, export, description',
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
});
export type IntegrationSummary = z.infer<typeof IntegrationSummarySchema>;

/** Body of `GET /v1/integrations`. */
export const IntegrationListSchema = z.strictObject({ integrations: z.array(IntegrationSummarySchema) });
export type IntegrationList = z.infer<typeof IntegrationListSchema>;
