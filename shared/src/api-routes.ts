/** Path constants of the daemon's HTTP API; every versioned route lives under one prefix. */
export const API_PREFIX = '/v1';

/** The daemon's routes, as express path patterns. */
export const API_ROUTES = {
  health: '/healthz',
  ready: '/readyz',
  integrations: `${API_PREFIX}/integrations`,
  integration: `${API_PREFIX}/integrations/:id`,
  tokens: `${API_PREFIX}/tokens`,
  token: `${API_PREFIX}/tokens/:id`,
  whoami: `${API_PREFIX}/whoami`,
  credentials: `${API_PREFIX}/credentials`,
  credentialsGet: `${API_PREFIX}/credentials/get`,
  credentialsStore: `${API_PREFIX}/credentials/store`,
  credentialsErase: `${API_PREFIX}/credentials/erase`,
  integrationTest: `${API_PREFIX}/integrations/:id/test`,
  audit: `${API_PREFIX}/audit`,
  openapi: `${API_PREFIX}/openapi.json`,
  metrics: '/metrics',
} as const;

/** Response header the lookup adds when the served credential expires within a week or has expired. */
export const CREDENTIAL_WARNING_HEADER = 'X-Scalr-Credd-Warning';

/** The largest request body the daemon accepts, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
