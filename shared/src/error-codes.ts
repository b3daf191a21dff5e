/** Every stable error code the daemon's API answers with, and its HTTP status. */
export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_json: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  /** No route at this path: a wrong base URL, never an absent credential. */
  route_not_found: 404,
  method_not_allowed: 405,
  /** The request took longer to arrive than the daemon's time limits allow. */
  request_timeout: 408,
  conflict: 409,
  credential_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  /** A cloud provider refused or failed to mint the registry credential (the message names the step and the provider's code). */
  mint_failed: 502,
  unavailable: 503,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The error codes as a list, for schemas and tests. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];
