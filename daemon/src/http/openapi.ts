import {
  API_ROUTES,
  AuditPageSchema,
  AuditQuerySchema,
  CREDENTIAL_WARNING_HEADER,
  CreateIntegrationBodySchema,
  CreateTokenBodySchema,
  CreatedTokenSchema,
  CredentialListSchema,
  ErrorBodySchema,
  HealthSchema,
  IntegrationListSchema,
  IntegrationSummarySchema,
  IntegrationTestReportSchema,
  LookupResponseSchema,
  ServerUrlBodySchema,
  StoreCredentialBodySchema,
  TokenListSchema,
  WhoAmISchema,
  UpdateIntegrationBodySchema,
} from '@dcs/shared';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 description of the daemon's API, generated from the shared zod schemas (the same
 * ones the routes parse with), so the document cannot drift from what the daemon accepts.
 */

type Json = Record<string, unknown>;

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  roles: string;
  /** Component name of the JSON request body. */
  body?: string;
  /** Component name of the JSON answer; null for 204. */
  answer: string | null;
  status?: number;
  query?: z.ZodObject;
  auth?: false;
  headers?: Record<string, string>;
  text?: true;
}

const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  CreateIntegrationBody: CreateIntegrationBodySchema,
  UpdateIntegrationBody: UpdateIntegrationBodySchema,
  CreateTokenBody: CreateTokenBodySchema,
  ServerUrlBody: ServerUrlBodySchema,
  StoreCredentialBody: StoreCredentialBodySchema,
};

const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  Health: HealthSchema,
  ErrorBody: ErrorBodySchema,
  IntegrationSummary: IntegrationSummarySchema,
  IntegrationList: IntegrationListSchema,
  IntegrationTestReport: IntegrationTestReportSchema,
  CreatedToken: CreatedTokenSchema,
  TokenList: TokenListSchema,
  WhoAmI: WhoAmISchema,
  LookupResponse: LookupResponseSchema,
  CredentialList: CredentialListSchema,
  AuditPage: AuditPageSchema,
};

const OPERATIONS: Operation[] = [
  { method: 'get', path: API_ROUTES.health, summary: 'Liveness; 503 once the store is sealed', roles: 'none', answer: 'Health', auth: false },
  { method: 'get', path: API_ROUTES.ready, summary: 'Readiness: the store answers and the keyring is loaded; 503 otherwise', roles: 'none', answer: 'Health', auth: false },
  { method: 'get', path: API_ROUTES.metrics, summary: 'Prometheus metrics (counts only, no hosts)', roles: 'none', answer: null, auth: false, text: true },
  { method: 'get', path: API_ROUTES.openapi, summary: 'This document', roles: 'none', answer: null, auth: false },
  { method: 'post', path: API_ROUTES.integrations, summary: 'Create an integration', roles: 'admin, manager', body: 'CreateIntegrationBody', answer: 'IntegrationSummary', status: 201 },
  { method: 'get', path: API_ROUTES.integrations, summary: 'List integrations (never secrets)', roles: 'admin, manager, auditor', answer: 'IntegrationList' },
  { method: 'get', path: API_ROUTES.integration, summary: 'Show an integration', roles: 'admin, manager, auditor', answer: 'IntegrationSummary' },
  { method: 'patch', path: API_ROUTES.integration, summary: 'Update an integration', roles: 'admin, manager', body: 'UpdateIntegrationBody', answer: 'IntegrationSummary' },
  { method: 'delete', path: API_ROUTES.integration, summary: 'Delete an integration', roles: 'admin, manager', answer: null, status: 204 },
  { method: 'post', path: API_ROUTES.integrationTest, summary: "Check the stored credential against the registry's /v2/", roles: 'admin, manager', answer: 'IntegrationTestReport' },
  { method: 'post', path: API_ROUTES.tokens, summary: 'Mint a token (value shown once)', roles: 'admin; manager for runner tokens', body: 'CreateTokenBody', answer: 'CreatedToken', status: 201 },
  { method: 'get', path: API_ROUTES.tokens, summary: 'List tokens (never values)', roles: 'admin, manager, auditor', answer: 'TokenList' },
  { method: 'delete', path: API_ROUTES.token, summary: 'Revoke a token', roles: 'admin; manager for runner tokens', answer: null, status: 204 },
  { method: 'get', path: API_ROUTES.whoami, summary: 'The calling token: id, name, role, hosts, expiry (never its value)', roles: 'any', answer: 'WhoAmI' },
  {
    method: 'post',
    path: API_ROUTES.credentialsGet,
    summary: 'The helper\'s "get": the one answer that carries a secret',
    roles: 'admin, manager, runner',
    body: 'ServerUrlBody',
    answer: 'LookupResponse',
    headers: { [CREDENTIAL_WARNING_HEADER]: 'Present when the credential expires within 7 days or has expired' },
  },
  { method: 'get', path: API_ROUTES.credentials, summary: 'The helper\'s "list": Docker key to username', roles: 'admin, manager, runner', answer: 'CredentialList' },
  { method: 'post', path: API_ROUTES.credentialsStore, summary: 'The helper\'s "store"', roles: 'admin, manager', body: 'StoreCredentialBody', answer: null, status: 204 },
  { method: 'post', path: API_ROUTES.credentialsErase, summary: 'The helper\'s "erase"', roles: 'admin, manager', body: 'ServerUrlBody', answer: null, status: 204 },
  { method: 'get', path: API_ROUTES.audit, summary: 'Read the audit log, oldest first (newest first with order=desc), with cursor paging', roles: 'admin, auditor', answer: 'AuditPage', query: AuditQuerySchema },
];

/** Builds the OpenAPI 3.1 document; call once and cache it, the schemas do not change at run time. */
export function buildOpenApiDocument(version: string): Json {
  const schemas: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) schemas[name] = jsonSchema(schema, 'input');
  for (const [name, schema] of Object.entries(RESPONSE_SCHEMAS)) schemas[name] = jsonSchema(schema, 'output');

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPERATIONS) {
    const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: Json[] = [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: '^[a-z]{3}_[0-9a-f]{16}$' },
    }));
    if (op.query) {
      const query = jsonSchema(op.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
      }
    }
    const status = String(op.status ?? 200);
    const success: Json = { description: op.answer ?? (op.status === 204 ? 'No content' : op.summary) };
    if (op.answer) success['content'] = { 'application/json': { schema: ref(op.answer) } };
    if (op.text) success['content'] = { 'text/plain; version=0.0.4': { schema: { type: 'string' } } };
    if (op.headers) {
      success['headers'] = Object.fromEntries(
        Object.entries(op.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
      );
    }
    const responses: Json = { [status]: success };
    if (op.auth !== false) {
      responses['default'] = { description: 'An error', content: { 'application/json': { schema: ref('ErrorBody') } } };
    }
    const operation: Json = {
      summary: op.summary,
      description: `Roles: ${op.roles}.`,
      operationId: `${op.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      responses,
    };
    if (parameters.length) operation['parameters'] = parameters;
    if (op.body) operation['requestBody'] = { required: true, content: { 'application/json': { schema: ref(op.body) } } };
    if (op.auth === false) operation['security'] = [];
    (paths[path] ??= {})[op.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'scalr-credd',
      version,
      description: 'The encrypted registry-credential daemon behind docker-credential-scalr. Bearer tokens carry a role: admin, manager, auditor or runner.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'scd_tok_… token minted by scalr-credd' } },
    },
  };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}
