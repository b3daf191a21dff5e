import type { IntegrationTestReport } from '@dcs/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { mayUseHost } from '../auth/authorize.js';
import { secretContext, type LiveBarrier } from '../barrier/barrier.js';
import { IntegrityError, NotFoundError } from '../errors.js';
import type { MintTarget } from '../providers/mint-credential.js';
import { MintError } from '../providers/mint-error.js';
import type { MintedCredential } from '../providers/provider-common.js';
import type { ProbeOutcome, RegistryProbe } from '../registry/registry-probe.js';
import type { IntegrationRow } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { mintTargetOf } from './cloud-identity.js';
import { auditActor, authorize, type RequestContext } from './context.js';
import { mintsCredentials } from './integration-row.js';

/** Dependencies of the registry check service. */
export interface RegistryCheckServiceDeps {
  store: Pick<Store, 'write' | 'integrations'>;
  barrier: Pick<LiveBarrier, 'open'>;
  audit: Pick<AuditLog, 'append' | 'appendIn'>;
  probe: RegistryProbe;
  /** Mints a fresh credential for a cloud provider integration (not the cached one: the test is of the identity). */
  mint: (target: MintTarget) => Promise<MintedCredential>;
  now: () => Date;
}

/** `POST /v1/integrations/:id/test`: checks a stored credential against its registry (admin, manager). */
export interface RegistryCheckService {
  /** Runs the check, records its outcome on the integration and in the audit log, and returns it. */
  test(ctx: RequestContext, id: string): Promise<IntegrationTestReport>;
}

/** Builds the service. The secret is opened only to be sent to the registry it belongs to. */
export function createRegistryCheckService(deps: RegistryCheckServiceDeps): RegistryCheckService {
  const { store, barrier, audit, probe, mint, now } = deps;

  /** Probes with the stored secret, or mints from the stored identity first; a failed mint is the outcome. */
  const check = async (row: IntegrationRow, plaintext: string): Promise<ProbeOutcome> => {
    if (!mintsCredentials(row)) return probe({ host: row.host, username: row.username, secret: plaintext, caCert: row.caCert });
    let minted: MintedCredential;
    try {
      minted = await mint(mintTargetOf(row, row.host, plaintext));
    } catch (error) {
      if (!(error instanceof MintError)) throw error;
      return { result: mintFailureResult(error), detail: `could not mint a credential: ${error.message}` };
    }
    const outcome = await probe({ host: row.host, username: minted.username, secret: minted.secret, caCert: row.caCert });
    return { ...outcome, detail: `minted a credential; ${outcome.detail}` };
  };

  return {
    async test(ctx, id) {
      // The role is checked before the lookup, so a token that may not test learns nothing about ids.
      await authorize(audit, ctx, 'integration.test');
      const row = await store.integrations.findById(id);
      // A host-limited token must not learn that integrations outside its list exist.
      if (!row || !mayUseHost(ctx.principal, row.host)) throw new NotFoundError(`integration ${id} not found`);
      await authorize(audit, ctx, 'integration.test', { host: row.host });
      let secret: string;
      try {
        secret = await barrier.open(secretContext(row.host), row.envelope);
      } catch (error) {
        if (error instanceof IntegrityError) {
          await audit.append({ ...auditActor(ctx), action: 'integration.test', host: row.host, targetId: id, outcome: 'error' });
        }
        throw error;
      }
      const { result, detail } = await check(row, secret);
      const testedAt = now().toISOString();
      await store.write(async (tx) => {
        const recorded = await tx.integrations.recordTest(id, { at: testedAt, result, detail });
        await audit.appendIn(tx, {
          ...auditActor(ctx),
          action: 'integration.test',
          host: row.host,
          targetId: id,
          outcome: recorded ? 'ok' : 'not_found',
          detail: { result },
        });
      });
      return { id, host: row.host, result, detail, testedAt };
    },
  };
}

/** Provider codes that say the identity itself was refused, whatever the status. */
const REFUSED_IDENTITY_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
]);

/** How a failed mint reads as a test result: refused (401/403) is unauthorized, no answer is unreachable. */
function mintFailureResult(error: MintError): ProbeOutcome['result'] {
  if (error.upstreamStatus === 401 || error.upstreamStatus === 403 || REFUSED_IDENTITY_CODES.has(error.code)) return 'unauthorized';
  if (['timeout', 'connect_timeout', 'unreachable', 'tls_failed', 'proxy_failed'].includes(error.code)) return 'unreachable';
  return 'error';
}
