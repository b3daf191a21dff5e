import { X509Certificate } from 'node:crypto';
import type { CreateIntegrationBody, IntegrationSummary, UpdateIntegrationBody } from '@dcs/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { mayUseHost } from '../auth/authorize.js';
import type { LiveBarrier } from '../barrier/barrier.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { MintCache } from '../providers/mint-cache.js';
import type { IntegrationRow } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { auditActor, authorize, type RequestContext } from './context.js';
import { checkIdentity, credentialOfCreate, identityOfUpdate } from './cloud-identity.js';
import { buildIntegrationRow, credentialFields, integrationSummary } from './integration-row.js';

/** Dependencies of the integration service. */
export interface IntegrationServiceDeps {
  store: Pick<Store, 'write' | 'integrations'>;
  barrier: Pick<LiveBarrier, 'seal'>;
  audit: Pick<AuditLog, 'append' | 'appendIn'>;
  now: () => Date;
  /** Forgets the credentials minted from an identity that is replaced or removed. */
  mintCache?: Pick<MintCache, 'invalidate'>;
}

/** Managing integrations: what admins and managers do through `/v1/integrations`. */
export interface IntegrationService {
  create(ctx: RequestContext, body: CreateIntegrationBody): Promise<IntegrationSummary>;
  /** The summaries the token may see, ordered by host, as JSON text (an array). */
  listJson(ctx: RequestContext): Promise<string>;
  get(ctx: RequestContext, id: string): Promise<IntegrationSummary>;
  update(ctx: RequestContext, id: string, body: UpdateIntegrationBody): Promise<IntegrationSummary>;
  remove(ctx: RequestContext, id: string): Promise<void>;
}

/** Builds the integration service. */
export function createIntegrationService(deps: IntegrationServiceDeps): IntegrationService {
  const { store, barrier, audit, now, mintCache } = deps;

  const findVisible = async (ctx: RequestContext, id: string): Promise<IntegrationRow> => {
    const row = await store.integrations.findById(id);
    // A host-limited token must not learn that integrations outside its list exist.
    if (!row || !mayUseHost(ctx.principal, row.host)) throw new NotFoundError(`integration ${id} not found`);
    return row;
  };

  return {
    async create(ctx, body) {
      await authorize(audit, ctx, 'integration.create', { host: body.host });
      const caCert = body.caCert === undefined ? null : parseCaCert(body.caCert);
      const credential = credentialOfCreate(body);
      if ('identity' in credential) checkIdentity(body.host, credential.identity);
      const settings = { host: body.host, export: body.export, description: body.description, expiresAt: body.expiresAt, caCert };
      const row = await buildIntegrationRow(barrier, { ...settings, ...credential }, now().toISOString());
      await store.write(async (tx) => {
        if (await tx.integrations.findByHost(row.host)) {
          throw new ConflictError(`host ${row.host} already has an integration`);
        }
        await tx.integrations.insert(row);
        await audit.appendIn(tx, { ...auditActor(ctx), action: 'integration.create', host: row.host, targetId: row.id, outcome: 'ok' });
      });
      return integrationSummary(row);
    },

    async listJson(ctx) {
      await authorize(audit, ctx, 'integration.read');
      // Listings, not rows: the envelopes are not read for a list.
      return store.integrations.listingsJson(ctx.principal.hosts);
    },

    async get(ctx, id) {
      await authorize(audit, ctx, 'integration.read');
      return integrationSummary(await findVisible(ctx, id));
    },

    async update(ctx, id, body) {
      // The role is checked before the lookup, so a token that may not update learns nothing about ids.
      await authorize(audit, ctx, 'integration.update');
      const current = await findVisible(ctx, id);
      await authorize(audit, ctx, 'integration.update', { host: current.host });
      const identity = identityOfUpdate(body);
      checkCredentialChange(current, body, identity);
      const next: IntegrationRow = {
        ...current,
        username: body.username ?? current.username,
        export: body.export ?? current.export,
        description: body.description === undefined ? current.description : body.description,
        updatedAt: now().toISOString(),
        expiresAt: body.expiresAt === undefined ? current.expiresAt : body.expiresAt,
        caCert: body.caCert === undefined ? current.caCert : body.caCert === null ? null : parseCaCert(body.caCert),
      };
      if (body.secret !== undefined) {
        Object.assign(next, await credentialFields(barrier, current.host, { username: next.username, secret: body.secret }));
      }
      if (identity) Object.assign(next, await credentialFields(barrier, current.host, { identity }));
      if (body.secret !== undefined || body.username !== undefined || identity) {
        // The last test said something about the old credential, not this one.
        Object.assign(next, { lastTestedAt: null, lastTestResult: null, lastTestDetail: null });
      }
      const changed = Object.keys(body).filter((key) => body[key as keyof UpdateIntegrationBody] !== undefined);
      await store.write(async (tx) => {
        if (!(await tx.integrations.findById(id))) throw new NotFoundError(`integration ${id} not found`);
        await tx.integrations.update(next);
        await audit.appendIn(tx, {
          ...auditActor(ctx),
          action: 'integration.update',
          host: current.host,
          targetId: id,
          outcome: 'ok',
          detail: { fields: changed },
        });
      });
      // After the commit: a lookup between the two would mint from the old identity, and be forgotten here.
      if (identity) mintCache?.invalidate(id);
      return integrationSummary(next);
    },

    async remove(ctx, id) {
      await authorize(audit, ctx, 'integration.delete');
      const current = await findVisible(ctx, id);
      await authorize(audit, ctx, 'integration.delete', { host: current.host });
      await store.write(async (tx) => {
        if (!(await tx.integrations.remove(id))) throw new NotFoundError(`integration ${id} not found`);
        await audit.appendIn(tx, { ...auditActor(ctx), action: 'integration.delete', host: current.host, targetId: id, outcome: 'ok' });
      });
      mintCache?.invalidate(id);
    },
  };
}

/**
 * A PATCH changes the credential of its own kind only: username and secret for a static integration,
 * the identity of the integration's provider for a cloud one (the provider, like the host, never changes).
 */
function checkCredentialChange(current: IntegrationRow, body: UpdateIntegrationBody, identity: ReturnType<typeof identityOfUpdate>): void {
  const refuse = (path: string, message: string) => new ValidationError(`${path}: ${message}`, [{ path, message }]);
  if (current.provider === 'static') {
    if (identity) throw refuse(identityField(identity.provider), 'this integration stores a static credential; remove it and add one with a provider');
    return;
  }
  if (body.username !== undefined) throw refuse('username', `a ${current.provider} integration's username is set by the provider`);
  if (body.secret !== undefined) throw refuse('secret', `a ${current.provider} integration mints its secret; replace its ${identityField(current.provider)} identity instead`);
  if (identity && identity.provider !== current.provider) {
    throw refuse(identityField(identity.provider), `this is a ${current.provider} integration; give ${identityField(current.provider)}`);
  }
  if (identity) checkIdentity(current.host, identity);
}

/** The body field holding a provider's identity. */
function identityField(provider: Exclude<IntegrationRow['provider'], 'static'>): 'aws' | 'azure' | 'google' {
  return provider === 'aws-ecr' ? 'aws' : provider === 'azure-acr' ? 'azure' : 'google';
}

/** Returns the PEM text when every certificate in it parses; otherwise throws ValidationError. */
export function parseCaCert(pem: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    for (const block of blocks) new X509Certificate(block);
  } catch {
    throw new ValidationError('caCert does not hold valid PEM certificates', [{ path: 'caCert', message: 'not a parsable PEM certificate' }]);
  }
  return `${blocks.join('\n')}\n`;
}
