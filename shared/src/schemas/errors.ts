import { z } from 'zod';
import { ERROR_CODES } from '../error-codes.js';

/** One problem found while validating input: where, and what is wrong (never the value received). */
export const ValidationIssueSchema = z.strictObject({ path: z.string(), message: z.string() });
export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

/** Every error the API answers with. */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    message: z.string(),
    requestId: z.string().optional(),
    issues: z.array(ValidationIssueSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Answer of `GET /healthz`. */
export const HealthSchema = z.strictObject({ status: z.literal('ok'), version: z.string() });
export type Health = z.infer<typeof HealthSchema>;
