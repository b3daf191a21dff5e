/** The seam between the helper's protocol layer and wherever credentials live (the daemon, or a fake in tests). */
import type { CredentialList } from '@dcs/shared';

/** A stored credential as the helper prints it; `username` may be `<token>` (Secret is then an identity token). */
export interface StoredCredential {
  readonly username: string;
  readonly secret: string;
  /** The daemon's note that the credential expires within a week (or has expired), when it sent one. */
  readonly warning?: string;
}

/** What `store` hands over: the server URL as the client sent it, the username verbatim, and the secret. */
export interface CredentialInput {
  readonly serverUrl: string;
  readonly username: string;
  readonly secret: string;
}

/** Docker-CLI key (`host[:port]` or `https://index.docker.io/v1/`) → username; never a secret (the API's own type). */
export type { CredentialList };

/** Where the helper's four verbs are answered. Implementations throw HelperError subclasses only. */
export interface CredentialBackend {
  /** Returns the credential for a server URL in any client form; throws CredentialsNotFoundError when there is none. */
  get(serverUrl: string): Promise<StoredCredential>;
  /** Returns every credential this token may read, keyed as the Docker CLI keys them. */
  list(): Promise<CredentialList>;
  /** Creates or replaces the credential for `input.serverUrl`; throws ReadOnlyTokenError for a read-only token. */
  store(input: CredentialInput): Promise<void>;
  /** Removes the credential for a server URL; succeeds when there was none. */
  erase(serverUrl: string): Promise<void>;
}

/** Returns a backend that calls `create` on first use, so verbs that need no backend never load config. */
export function createLazyBackend(create: () => CredentialBackend | Promise<CredentialBackend>): CredentialBackend {
  let backend: Promise<CredentialBackend> | undefined;
  const resolve = () => (backend ??= Promise.resolve().then(create));
  return {
    get: async (serverUrl) => (await resolve()).get(serverUrl),
    list: async () => (await resolve()).list(),
    store: async (input) => (await resolve()).store(input),
    erase: async (serverUrl) => (await resolve()).erase(serverUrl),
  };
}
