import { createAuditLog, type AuditLog } from './audit/audit-log.js';
import type { Barrier } from './barrier/barrier.js';
import type { Db } from './store/database.js';
import { createIntegrationRepository, type IntegrationRepository } from './store/integration-repository.js';
import { createKeyringRepository, type KeyringRepository } from './store/keyring-repository.js';
import { createTokenRepository, type TokenRepository } from './store/token-repository.js';
import { createCredentialService, type CredentialService } from './services/credential-service.js';
import { createIntegrationService, type IntegrationService } from './services/integration-service.js';
import { createTokenService, type TokenService } from './services/token-service.js';

/** Repositories and services wired over one database and barrier. */
export interface Services {
  db: Db;
  barrier: Barrier;
  audit: AuditLog;
  integrationRepository: IntegrationRepository;
  tokenRepository: TokenRepository;
  keyringRepository: KeyringRepository;
  integrations: IntegrationService;
  credentials: CredentialService;
  tokens: TokenService;
}

/** Wires repositories and services; `now` and `onLookup` are injected so tests and metrics can observe. */
export function assembleServices(options: {
  db: Db;
  barrier: Barrier;
  now?: () => Date;
  onLookup?: (outcome: 'hit' | 'not_found' | 'error') => void;
}): Services {
  const { db, barrier } = options;
  const now = options.now ?? (() => new Date());
  const audit = createAuditLog(db, now);
  const integrationRepository = createIntegrationRepository(db);
  const tokenRepository = createTokenRepository(db);
  const keyringRepository = createKeyringRepository(db);
  const base = { db, audit, now };
  return {
    db,
    barrier,
    audit,
    integrationRepository,
    tokenRepository,
    keyringRepository,
    integrations: createIntegrationService({ ...base, integrations: integrationRepository, barrier }),
    credentials: createCredentialService({
      ...base,
      integrations: integrationRepository,
      barrier,
      ...(options.onLookup ? { onLookup: options.onLookup } : {}),
    }),
    tokens: createTokenService({ ...base, tokens: tokenRepository }),
  };
}
