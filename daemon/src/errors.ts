import type { ValidationIssue } from '@dcs/shared';
import type { ErrorCode } from '@dcs/shared/error-codes';
import { ERROR_STATUS } from '@dcs/shared/error-codes';

/**
 * The daemon's one error base. Services, auth, barrier and store throw these; only the HTTP error
 * handler turns them into a status and an ErrorBody. A message may name a host or an id, never a
 * secret, a token value or key material.
 */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Whether the message may be shown to the client; unexposed errors answer a generic text. */
    readonly expose = true,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.status = ERROR_STATUS[code];
  }
}

/** 400: input that fails validation; `issues` carry paths and reasons, never the values received. */
export class ValidationError extends AppError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super('validation_failed', message);
  }
}

/** 401: no token, an unknown, malformed, expired or revoked token. */
export class UnauthenticatedError extends AppError {
  constructor(message = 'a valid bearer token is required') {
    super('unauthenticated', message);
  }
}

/** 403: the token is valid but its role or host list does not allow the action. */
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** 404: no such resource, or one the token may not know about. */
export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super('not_found', message);
  }
}

/** 409: the change conflicts with what is stored (a host that already has an integration). */
export class ConflictError extends AppError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** 410: the stored credential is past its `expiresAt`; it is not served, and the message says what to do. */
export class CredentialExpiredError extends AppError {
  constructor(host: string, expiresAt: string) {
    super(
      'credential_expired',
      `the credential for ${host} expired at ${expiresAt}; a scalr-credd admin must update it (new secret and expiresAt)`,
    );
  }
}

/**
 * 502: the cloud provider of an integration refused or failed to mint its registry credential. The
 * message is the provider step and code (MintError's, which never holds a secret or remote text).
 */
export class MintFailedError extends AppError {
  constructor(
    host: string,
    readonly provider: string,
    readonly providerCode: string,
    readonly upstreamStatus: number | undefined,
    reason: string,
  ) {
    super('mint_failed', `could not mint a registry credential for ${host}: ${reason}`);
  }
}

/** 429: too many failed attempts from one source. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 'too many failed authentication attempts; try again later');
  }
}

/** 503: the barrier holds no keys (the daemon is shutting down). */
export class BarrierSealedError extends AppError {
  constructor() {
    super('unavailable', 'the credential store is sealed');
  }
}

/** 503: the store's database does not answer (PostgreSQL down, restarting, or out of connections); a client may try another daemon. */
export class StoreUnavailableError extends AppError {
  constructor() {
    super('unavailable', "the credential store's database does not answer; retry shortly");
  }
}

/** 500, never exposed: a ciphertext failed to open (tampered, moved, unknown key term). Nothing is served. */
export class IntegrityError extends AppError {
  constructor(detail: string) {
    super('internal', `integrity check failed: ${detail}`, false);
  }
}

/** A start-up problem the operator must fix (bad key file, wrong key, bad flags); printed as one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
