/**
 * The helper's errors. Every message is safe to print: it never contains a secret or a token, and
 * run-helper turns it into exactly one stdout line.
 */

/** The not-found text clients compare against (protocol.md §1.6); it must never change. */
export const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
/** The reference helpers' text for an empty server URL. */
export const MISSING_SERVER_URL_MESSAGE = 'no credentials server URL';
/** The reference helpers' text for a `store` without a username. */
export const MISSING_USERNAME_MESSAGE = 'no credentials username';

/** Base of every error the helper reports on purpose; anything else is a bug and is reported as one. */
export abstract class HelperError extends Error {}

/** An error whose message is a protocol string, printed verbatim without the program-name prefix. */
export abstract class ProtocolError extends HelperError {}

/** A ProtocolError class whose message is always the one protocol string. */
function protocolError(name: string, message: string) {
  return class extends ProtocolError {
    override readonly name = name;
    constructor() {
      super(message);
    }
  };
}

/** No credential is stored for the server URL: the answer that makes clients continue anonymously. */
export class CredentialsNotFoundError extends protocolError('CredentialsNotFoundError', NOT_FOUND_MESSAGE) {}

/** stdin held no server URL (get, erase) or the stored JSON had none (store). */
export class MissingServerUrlError extends protocolError('MissingServerUrlError', MISSING_SERVER_URL_MESSAGE) {}

/** The JSON given to `store` had no username. */
export class MissingUsernameError extends protocolError('MissingUsernameError', MISSING_USERNAME_MESSAGE) {}

/** stdin could not be understood (e.g. `store` input that is not a JSON object). */
export class InvalidInputError extends HelperError {
  override readonly name = 'InvalidInputError';
}

/** `store` of a key the helper never stores (Docker Hub's OAuth tokens); the message says what to do instead. */
export class RefusedStoreError extends HelperError {
  override readonly name = 'RefusedStoreError';
}

/** The environment does not configure the helper correctly; the message names every bad variable. */
export class HelperConfigError extends HelperError {
  override readonly name = 'HelperConfigError';
}

/**
 * How talking to the daemon failed:
 * `unreachable` (no connection), `timeout` (no answer in time), `unauthenticated` (401),
 * `rejected` (4xx other than 401/403-on-write/404-on-read), `server` (5xx), `protocol` (an answer that makes no sense).
 */
export type DaemonErrorKind = 'unreachable' | 'timeout' | 'unauthenticated' | 'rejected' | 'server' | 'protocol';

/** The daemon could not answer the question; never to be reported as "not found". */
export class DaemonError extends HelperError {
  override readonly name = 'DaemonError';
  readonly kind: DaemonErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(kind: DaemonErrorKind, message: string, details: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.code = details.code;
  }
}

/** The daemon refused `store` or `erase` because the token may only read. */
export class ReadOnlyTokenError extends HelperError {
  override readonly name = 'ReadOnlyTokenError';
  readonly role: string | undefined;

  constructor(role: string | undefined) {
    super(
      `the token is read-only (role ${role ?? 'runner or auditor'}); store and erase need a manager or admin token`,
    );
    this.role = role;
  }
}
