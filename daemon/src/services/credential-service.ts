import {
  InvalidRegistryHostError,
  dockerCliKey,
  isSubKey,
  parseServerUrl,
  type CredentialList,
  type LookupResponse,
  type ParsedServerUrl,
  type StoreCredentialBody,
} from '@dcs/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { mayUseHost } from '../auth/authorize.js';
import { secretContext, type LiveBarrier } from '../barrier/barrier.js';
import { AppError, ConflictError, CredentialExpiredError, IntegrityError, MintFailedError, NotFoundError, ValidationError } from '../errors.js';
import type { MintCache } from '../providers/mint-cache.js';
import { MintError } from '../providers/mint-error.js';
import type { IntegrationRow } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { fallbackHost, mintTargetOf } from './cloud-identity.js';
import { auditActor, authorize, type RequestContext } from './context.js';
import { buildIntegrationRow, mintsCredentials, type MintingRow } from './integration-row.js';

/** Dependencies of the credential service. */
export interface CredentialServiceDeps {
  store: Pick<Store, 'write' | 'integrations'>;
  barrier: Pick<LiveBarrier, 'seal' | 'open'>;
  /** `appendCommitted` (group commit) for lookups, `appendIn` in the transaction of every write. */
  audit: Pick<AuditLog, 'append' | 'appendIn' | 'appendCommitted'>;
  now: () => Date;
  /** Told when a served credential expires within a week or has expired (logs, throttled by the callee). */
  onExpiring?: (notice: ExpiryNotice) => void;
  /** Mints (and keeps in memory) the credentials of cloud provider integrations. */
  mintCache?: Pick<MintCache, 'get'>;
}

/** A served credential that expires soon or has expired. */
export interface ExpiryNotice {
  host: string;
  expiresAt: string;
  expired: boolean;
}

/** A lookup's answer, with a warning for the client when the credential expires soon. */
export interface LookupResult {
  credential: LookupResponse;
  /** `credential for HOST expires at …` / `expired at …`; undefined when no expiry is near. */
  warning: string | undefined;
}

/** How long before a credential's expiry lookups start to warn. */
export const EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

/** The helper's verbs: get, list, store, erase. */
export interface CredentialService {
  /**
   * The credential with its expiry warning. Resolves only once the lookup's audit row committed; a
   * lookup that cannot be audited rejects.
   */
  lookupWithNotice(ctx: RequestContext, serverUrl: string): Promise<LookupResult>;
  list(ctx: RequestContext): Promise<CredentialList>;
  store(ctx: RequestContext, body: StoreCredentialBody): Promise<void>;
  erase(ctx: RequestContext, serverUrl: string): Promise<void>;
}

/**
 * Builds the credential service. A lookup answers not-found, never forbidden, for hosts the token
 * may not read or that are not exported, so that a runner cannot probe which hosts exist.
 */
export function createCredentialService(deps: CredentialServiceDeps): CredentialService {
  const { store, barrier, audit, now, onExpiring, mintCache } = deps;

  const service: CredentialService = {
    // Every outcome's audit row goes through the group commit and is awaited before the answer
    // (secret or error) is produced.
    async lookupWithNotice(ctx, serverUrl) {
      await authorize(audit, ctx, 'credential.get');
      const key = parseKey(serverUrl);
      let row;
      try {
        row = isSubKey(key) ? undefined : await findServing(key.host);
      } catch (error) {
        // A row edited without the root key (its MAC fails) is an integrity error, audited like one that does not open.
        if (error instanceof IntegrityError) await auditLookupError(ctx, key.host, undefined);
        throw error;
      }
      // The host asked for is the one the token must be allowed (a google integration may serve another).
      if (!row || !row.export || !mayUseHost(ctx.principal, key.host)) {
        await audit.appendCommitted({ ...auditActor(ctx), action: 'credential.get', host: key.host, outcome: 'not_found' });
        throw new NotFoundError('credentials not found');
      }
      // Past its expiry the credential is refused with a clear error instead of being served for the
      // registry to reject with a bare "unauthorized".
      if (row.expiresAt && Date.parse(row.expiresAt) <= now().getTime()) {
        expiryWarning(row.host, row.expiresAt);
        await audit.appendCommitted({
          ...auditActor(ctx),
          action: 'credential.get',
          host: row.host,
          targetId: row.id,
          outcome: 'denied',
          detail: { reason: 'expired', expiresAt: row.expiresAt },
        });
        throw new CredentialExpiredError(row.host, row.expiresAt);
      }
      let secret: string;
      try {
        secret = await barrier.open(secretContext(row.host), row.envelope);
      } catch (error) {
        if (error instanceof IntegrityError) await auditLookupError(ctx, row.host, row.id);
        throw error;
      }
      if (mintsCredentials(row)) return mintedLookup(ctx, serverUrl, key.host, row, secret);
      // The audit row is written before the secret leaves: a lookup that cannot be audited is not served.
      await audit.appendCommitted({ ...auditActor(ctx), action: 'credential.get', host: row.host, targetId: row.id, outcome: 'ok' });
      const credential = { ServerURL: serverUrl.trim(), Username: row.username, Secret: secret };
      return { credential, warning: expiryWarning(row.host, row.expiresAt) };
    },

    async list(ctx) {
      await authorize(audit, ctx, 'credential.list');
      // No prototype: a host named "__proto__" must be listed like any other.
      const result: CredentialList = Object.create(null) as CredentialList;
      let count = 0;
      for (const { host, username } of await store.integrations.listExported()) {
        if (!mayUseHost(ctx.principal, host)) continue;
        result[dockerCliKey(host)] = username;
        count++;
      }
      await audit.append({ ...auditActor(ctx), action: 'credential.list', outcome: 'ok', detail: { count } });
      return result;
    },

    async store(ctx, body) {
      await authorize(audit, ctx, 'credential.store');
      const key = parseKey(body.ServerURL);
      if (key.path !== '') {
        throw new ValidationError(`"${key.host}${key.path}" names a path; credentials are stored per registry host`, [
          { path: 'ServerURL', message: 'must name a registry host without a path' },
        ]);
      }
      const { host } = key;
      await authorize(audit, ctx, 'credential.store', { host });
      const fresh = await buildIntegrationRow(barrier, { host, username: body.Username, secret: body.Secret }, now().toISOString());
      await store.write(async (tx) => {
        const existing = await tx.integrations.findByHost(host);
        if (existing && mintsCredentials(existing)) {
          throw new ConflictError(`${host} is served by a ${existing.provider} integration: its credentials are minted, not stored`);
        }
        // An existing integration keeps its id, settings and history; only the credential changes.
        const { envelope, term, updatedAt } = fresh;
        if (existing) await tx.integrations.update({ ...existing, username: body.Username, envelope, term, updatedAt });
        else await tx.integrations.insert(fresh);
        const targetId = existing?.id ?? fresh.id;
        await audit.appendIn(tx, { ...auditActor(ctx), action: 'credential.store', host, targetId, outcome: 'ok' });
      });
    },

    async erase(ctx, serverUrl) {
      await authorize(audit, ctx, 'credential.erase');
      const key = parseKey(serverUrl);
      // docker logout also erases sub-keys such as Docker Hub's .../access-token: nothing stored, nothing to do.
      if (isSubKey(key)) {
        await audit.append({ ...auditActor(ctx), action: 'credential.erase', host: key.host, outcome: 'not_found' });
        return;
      }
      await authorize(audit, ctx, 'credential.erase', { host: key.host });
      await store.write(async (tx) => {
        const existing = await tx.integrations.findByHost(key.host);
        const removed = existing ? await tx.integrations.remove(existing.id) : false;
        await audit.appendIn(tx, {
          ...auditActor(ctx),
          action: 'credential.erase',
          host: key.host,
          targetId: existing?.id,
          outcome: removed ? 'ok' : 'not_found',
        });
      });
    },
  };

  /** The integration serving `host`: its own, else (a Google registry host) the google integration of gcr.io. */
  async function findServing(host: string): Promise<Readonly<IntegrationRow> | undefined> {
    const own = await store.integrations.findByHost(host);
    if (own) return own;
    const fallback = fallbackHost(host);
    const shared = fallback === undefined ? undefined : await store.integrations.findByHost(fallback);
    return shared && shared.provider === 'google' ? shared : undefined;
  }

  /**
   * A lookup of a cloud provider integration: the credential minted from its identity (`plaintext`,
   * just opened), through the mint cache. Success and failure are audited before the answer leaves;
   * a failure carries the provider's code and status, never a secret.
   */
  async function mintedLookup(ctx: RequestContext, serverUrl: string, host: string, row: Readonly<MintingRow>, plaintext: string): Promise<LookupResult> {
    const provider = row.provider;
    const actor = { ...auditActor(ctx), action: 'credential.get', host, targetId: row.id };
    if (!mintCache) throw new AppError('internal', 'no mint cache is configured', false);
    let minted;
    try {
      minted = await mintCache.get(mintTargetOf(row, host, plaintext));
    } catch (error) {
      if (!(error instanceof MintError)) throw error;
      const detail = { reason: 'mint_failed', provider, code: error.code, upstreamStatus: error.upstreamStatus ?? null };
      await audit.appendCommitted({ ...actor, outcome: 'error', detail });
      throw new MintFailedError(host, provider, error.code, error.upstreamStatus, error.message);
    }
    await audit.appendCommitted({ ...actor, outcome: 'ok', detail: { provider } });
    const credential = { ServerURL: serverUrl.trim(), Username: minted.username, Secret: minted.secret };
    return { credential, warning: expiryWarning(row.host, row.expiresAt) };
  }

  async function auditLookupError(ctx: RequestContext, host: string, targetId: string | undefined): Promise<void> {
    await audit.appendCommitted({ ...auditActor(ctx), action: 'credential.get', host, targetId, outcome: 'error' });
  }

  function expiryWarning(host: string, expiresAt: string | null | undefined): string | undefined {
    if (!expiresAt) return undefined;
    const left = Date.parse(expiresAt) - now().getTime();
    if (left > EXPIRY_WARNING_MS) return undefined;
    const expired = left <= 0;
    onExpiring?.({ host, expiresAt, expired });
    return `credential for ${host} ${expired ? 'expired' : 'expires'} at ${expiresAt}`;
  }

  return service;
}

/** Parses the body's `ServerURL` (or its alias, parsed into it); throws ValidationError pointing at `ServerURL`. */
function parseKey(serverUrl: string): ParsedServerUrl {
  try {
    return parseServerUrl(serverUrl);
  } catch (error) {
    if (!(error instanceof InvalidRegistryHostError)) throw error;
    throw new ValidationError(error.message, [{ path: 'ServerURL', message: error.message }]);
  }
}
