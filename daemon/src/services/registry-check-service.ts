import type { IntegrationTestReport } from '@dcs/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { mayUseHost } from '../auth/authorize.js';
import { secretContext, type Barrier } from '../barrier/barrier.js';
import { IntegrityError, NotFoundError } from '../errors.js';
import type { RegistryProbe } from '../registry/registry-probe.js';
import type { Db } from '../store/database.js';
import type { IntegrationRepository } from '../store/integration-repository.js';
import { auditActor, authorize, type RequestContext } from './context.js';

/** Dependencies of the registry check service. */
export interface RegistryCheckServiceDeps {
  db: Db;
  integrationRepository: Pick<IntegrationRepository, 'findById' | 'recordTest'>;
  barrier: Pick<Barrier, 'open'>;
  audit: Pick<AuditLog, 'append'>;
  probe: RegistryProbe;
  now: () => Date;
}

/** `POST /v1/integrations/:id/test`: checks a stored credential against its registry (admin, manager). */
export interface RegistryCheckService {
  /** Runs the check, records its outcome on the integration and in the audit log, and returns it. */
  test(ctx: RequestContext, id: string): Promise<IntegrationTestReport>;
}

/** Builds the service. The secret is opened only to be sent to the registry it belongs to. */
export function createRegistryCheckService(deps: RegistryCheckServiceDeps): RegistryCheckService {
  const { db, integrationRepository, barrier, audit, probe, now } = deps;

  return {
    async test(ctx, id) {
      // The role is checked before the lookup, so a token that may not test learns nothing about ids.
      authorize(audit, ctx, 'integration.test');
      const row = integrationRepository.findById(id);
      // A host-limited token must not learn that integrations outside its list exist.
      if (!row || !mayUseHost(ctx.principal, row.host)) throw new NotFoundError(`integration ${id} not found`);
      authorize(audit, ctx, 'integration.test', { host: row.host });
      let secret: string;
      try {
        secret = barrier.open(secretContext(row.host), row.envelope);
      } catch (error) {
        if (error instanceof IntegrityError) {
          audit.append({ ...auditActor(ctx), action: 'integration.test', host: row.host, targetId: id, outcome: 'error' });
        }
        throw error;
      }
      const { result, detail } = await probe({ host: row.host, username: row.username, secret, caCert: row.caCert });
      const testedAt = now().toISOString();
      db.transaction(() => {
        const recorded = integrationRepository.recordTest(id, { at: testedAt, result, detail });
        audit.append({
          ...auditActor(ctx),
          action: 'integration.test',
          host: row.host,
          targetId: id,
          outcome: recorded ? 'ok' : 'not_found',
          detail: { result },
        });
      }).immediate();
      return { id, host: row.host, result, detail, testedAt };
    },
  };
}
