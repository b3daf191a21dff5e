/**
 * What the console takes from @dcs/shared: the API's types (erased at build time, so no zod in the
 * bundle) and its route table. The console's tsconfig maps `@dcs/shared` here, so daemon modules it
 * shares (the permissions table, the audit chain text) type-check without the barrel's Node-only parts.
 */
export type * from '../../../shared/src/schemas/audit.js';
export type * from '../../../shared/src/schemas/errors.js';
export type * from '../../../shared/src/schemas/integrations.js';
export type * from '../../../shared/src/schemas/tokens.js';
export { API_PREFIX, API_ROUTES } from '../../../shared/src/api-routes.js';
