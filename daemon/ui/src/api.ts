/**
 * Every call the console makes to the daemon's API, in one module. Same origin, the token as
 * `Authorization: Bearer`, no cookies, no cache. A 401 ends the session (`onSignedOut`) with the
 * daemon's reason, so an expired or revoked token sends the user back to the sign-in form.
 */
import {
  API_ROUTES,
  type AuditEvent,
  type AuditPage,
  type CreateIntegrationBody,
  type CreatedToken,
  type CreateTokenBody,
  type ErrorBody,
  type IntegrationList,
  type IntegrationSummary,
  type IntegrationTestReport,
  type TokenList,
  type TokenSummary,
  type UpdateIntegrationBody,
  type WhoAmI,
} from './contract.js';

/** An answer other than 2xx: the API's stable code and its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Which fields failed validation, and why. */
    readonly issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message);
  }

  /** The message with the failed fields, for a form's error box. */
  describe(): string {
    return [this.message, ...this.issues.map((issue) => `${issue.path || 'body'}: ${issue.message}`)].join('; ');
  }
}

/** What to show for any failure of a call. */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiError) return error.describe();
  return `the daemon could not be reached (${error instanceof Error ? error.message : String(error)})`;
}

/** Filters of the audit view, as `GET /v1/audit` takes them. */
export interface AuditFilters {
  host?: string;
  action?: string;
  /** A token id. */
  token?: string;
  /** An ISO-8601 instant. */
  since?: string;
}

/** The console's API client for one signed-in token. */
export interface Api {
  /** Who the signed-in token is (GET /v1/whoami). */
  whoami(): Promise<WhoAmI>;
  listIntegrations(): Promise<IntegrationSummary[]>;
  createIntegration(body: CreateIntegrationBody): Promise<IntegrationSummary>;
  updateIntegration(id: string, body: UpdateIntegrationBody): Promise<IntegrationSummary>;
  deleteIntegration(id: string): Promise<void>;
  testIntegration(id: string): Promise<IntegrationTestReport>;
  listTokens(): Promise<TokenSummary[]>;
  createToken(body: CreateTokenBody): Promise<CreatedToken>;
  revokeToken(id: string): Promise<void>;
  /** The newest `limit` events matching `filters` with seq below `before`, newest first. */
  auditNewestFirst(filters: AuditFilters, limit: number, before?: number): Promise<NewestFirstPage>;
}

/** One newest-first page of the audit log. */
export interface NewestFirstPage {
  /** Newest first. */
  events: AuditEvent[];
  /** Whether events older than the last one of `events` exist. */
  hasOlder: boolean;
}

/** Fills an express path pattern's `:id`. */
const withId = (pattern: string, id: string) => pattern.replace(':id', encodeURIComponent(id));

/** Builds the client for `token`; `onSignedOut` runs with the daemon's message when it answers 401. */
export function createApi(token: string, onSignedOut: (reason: string) => void): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
    if (res.status === 204) return undefined as T;
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const error = (data as Partial<ErrorBody> | undefined)?.error;
      const failure = new ApiError(res.status, error?.code ?? 'error', error?.message ?? `the daemon answered HTTP ${res.status}`, error?.issues);
      if (res.status === 401) onSignedOut(failure.message);
      throw failure;
    }
    return data as T;
  }

  const listTokens = async () => (await call<TokenList>('GET', API_ROUTES.tokens)).tokens;
  return {
    whoami: () => call<WhoAmI>('GET', API_ROUTES.whoami),
    listIntegrations: async () => (await call<IntegrationList>('GET', API_ROUTES.integrations)).integrations,
    createIntegration: (body) => call('POST', API_ROUTES.integrations, body),
    updateIntegration: (id, body) => call('PATCH', withId(API_ROUTES.integration, id), body),
    deleteIntegration: (id) => call('DELETE', withId(API_ROUTES.integration, id)),
    testIntegration: (id) => call('POST', withId(API_ROUTES.integrationTest, id)),
    listTokens,
    createToken: (body) => call('POST', API_ROUTES.tokens, body),
    revokeToken: (id) => call('DELETE', withId(API_ROUTES.token, id)),
    async auditNewestFirst(filters, limit, before) {
      const query = new URLSearchParams({ order: 'desc', limit: String(limit) });
      for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
      // Newest first, the cursor is the seq the page goes back from.
      if (before !== undefined) query.set('cursor', String(before));
      const page = await call<AuditPage>('GET', `${API_ROUTES.audit}?${query}`);
      return { events: page.events, hasOlder: page.nextCursor !== null };
    },
  };
}
