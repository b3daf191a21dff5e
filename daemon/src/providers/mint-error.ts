/** The cloud providers the daemon can mint registry credentials from. */
export type CloudProvider = 'aws-ecr' | 'azure-acr' | 'google';

/**
 * Why a registry credential could not be minted. `code` is the provider's own error code when it sent
 * one (`AccessDenied`, `invalid_client`, `invalid_grant`…), otherwise one of ours (`timeout`,
 * `unreachable`, `http_500`, `malformed_response`, `invalid_identity`…). The message names the step
 * that failed and the code; it never holds a secret, a token, a key or text the remote end sent.
 */
export class MintError extends Error {
  constructor(
    readonly provider: CloudProvider,
    readonly code: string,
    message: string,
    /** The HTTP status the provider answered with, when it answered. */
    readonly upstreamStatus?: number,
  ) {
    super(`${provider}: ${message}`);
    this.name = 'MintError';
  }
}

/** A provider error code reduced to a short token we can log: anything else becomes the fallback. */
export function sanitizeErrorCode(code: unknown, fallback: string): string {
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : fallback;
}
