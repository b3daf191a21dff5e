import type { CreateTokenBody, CreatedToken, Role, TokenSummary, WhoAmI } from '@dcs/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { coversHosts, type Principal } from '../auth/authorize.js';
import { mintToken, parseToken, secretMatches } from '../auth/token-hash.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors.js';
import { RowAuthenticationError } from '../store/row-integrity.js';
import type { TokenRow } from '../store/rows.js';
import type { Store, StoreTx, TokenTable } from '../store/store.js';
import { auditActor, authorize, type RequestContext } from './context.js';

/** Dependencies of the token service. */
export interface TokenServiceDeps {
  store: Pick<Store, 'write' | 'tokens'>;
  audit: Pick<AuditLog, 'append' | 'appendIn'>;
  now: () => Date;
}

/** Why an authentication failed, for the audit log (the client only ever sees 401). */
export type AuthFailure = 'malformed' | 'unknown' | 'mismatch' | 'revoked' | 'expired' | 'tampered';

/** Tokens: minting, listing, revoking, and turning a presented value into a Principal. */
export interface TokenService {
  create(ctx: RequestContext, body: CreateTokenBody): Promise<CreatedToken>;
  list(ctx: RequestContext): Promise<TokenSummary[]>;
  revoke(ctx: RequestContext, id: string): Promise<void>;
  /** The calling token as the daemon sees it (any role). */
  whoami(ctx: RequestContext): Promise<WhoAmI>;
  /** Returns the principal of a valid token; rejects with UnauthenticatedError (with `reason`) otherwise. */
  authenticate(value: string): Promise<Principal>;
  /** Mints a token with no caller (the first admin token of a new store), in the caller's transaction when given. */
  bootstrap(name: string, role: Role, tx?: StoreTx): Promise<CreatedToken>;
}

/** An authentication failure with its audit reason and the token id the caller claimed, if any. */
export class AuthenticationFailure extends UnauthenticatedError {
  constructor(
    readonly reason: AuthFailure,
    readonly claimedTokenId: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the token service. */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  const { store, audit, now } = deps;

  const mint = async (
    name: string,
    role: Role,
    hosts: string[] | null,
    expiresAt: string | null,
    onInsert: (tx: StoreTx, row: TokenRow) => Promise<void>,
    inTx?: StoreTx,
  ): Promise<CreatedToken> => {
    const minted = mintToken();
    const row: TokenRow = {
      id: minted.id,
      name,
      role,
      hash: minted.hash,
      hosts,
      createdAt: now().toISOString(),
      expiresAt,
      revokedAt: null,
    };
    const insert = async (tx: StoreTx) => {
      await tx.tokens.insert(row);
      await onInsert(tx, row);
    };
    await (inTx ? insert(inTx) : store.write(insert));
    return { ...tokenSummary(row), token: minted.value };
  };

  return {
    async create(ctx, body) {
      await authorize(audit, ctx, 'token.create', { role: body.role });
      const hosts = body.hosts ? [...new Set(body.hosts)].sort() : null;
      const deny = async (reason: string, message: string): Promise<never> => {
        await audit.append({ ...auditActor(ctx), action: 'token.create', outcome: 'denied', detail: { reason } });
        throw new ForbiddenError(message);
      };
      if (!coversHosts(ctx.principal, hosts)) {
        await deny('hosts', 'a host-limited token may only mint tokens limited to its own hosts');
      }
      // A child never outlives its parent: without a ttlSeconds it expires with it, and a longer one is refused.
      const limit = ctx.principal.expiresAt;
      const expiresAt = body.ttlSeconds === undefined ? limit : new Date(now().getTime() + body.ttlSeconds * 1000).toISOString();
      if (limit !== null && (expiresAt === null || expiresAt > limit)) {
        await deny('expiry', `a token may not outlive the token that mints it (${ctx.principal.tokenId} expires at ${limit}); give a shorter ttlSeconds`);
      }
      return mint(body.name, body.role, hosts, expiresAt, (tx, row) =>
        audit.appendIn(tx, {
          ...auditActor(ctx),
          action: 'token.create',
          targetId: row.id,
          outcome: 'ok',
          detail: { role: row.role, hosts: row.hosts, expiresAt: row.expiresAt },
        }),
      );
    },

    async list(ctx) {
      await authorize(audit, ctx, 'token.read');
      // A host-limited caller sees only tokens that reach no further than itself.
      return (await store.tokens.list())
        .filter((row) => coversHosts(ctx.principal, row.hosts))
        .map(tokenSummary);
    },

    async revoke(ctx, id) {
      // The role is checked before the lookup, so a token that may not revoke learns nothing about ids.
      await authorize(audit, ctx, 'token.revoke');
      const row = await store.tokens.findById(id);
      // Beyond the caller's hosts a token is not found, as in the listing: a 403 would confirm it exists.
      if (!row || !coversHosts(ctx.principal, row.hosts)) throw new NotFoundError(`token ${id} not found`);
      await authorize(audit, ctx, 'token.revoke', { role: row.role });
      await store.write(async (tx) => {
        const at = now().toISOString();
        if (row.role === 'admin' && isActive(row, at) && !outlivedByAnotherAdmin(row, await tx.tokens.list(), at)) {
          throw new ConflictError(
            `cannot revoke the last active admin token: no other active admin token lives as long as ${row.id}; mint one first (a non-expiring one to revoke a non-expiring one)`,
          );
        }
        const revoked = await tx.tokens.revoke(id, at);
        await audit.appendIn(tx, { ...auditActor(ctx), action: 'token.revoke', targetId: id, outcome: revoked ? 'ok' : 'not_found' });
      });
    },

    async whoami(ctx) {
      await authorize(audit, ctx, 'token.self');
      const { tokenId, name, role, hosts, expiresAt } = ctx.principal;
      return { id: tokenId, name, role, hosts: hosts === null ? null : [...hosts], expiresAt };
    },

    async authenticate(value) {
      const parsed = parseToken(value);
      if (!parsed) throw new AuthenticationFailure('malformed', undefined, 'the bearer token is malformed');
      const row = await findTokenRow(store.tokens, parsed.id);
      // Unknown and mismatching tokens get the same answer, and the hash comparison is constant-time.
      if (!row) throw new AuthenticationFailure('unknown', parsed.id, 'the bearer token is not valid');
      if (!secretMatches(parsed.secret, row.hash)) throw new AuthenticationFailure('mismatch', parsed.id, 'the bearer token is not valid');
      if (row.revokedAt !== null) throw new AuthenticationFailure('revoked', row.id, 'the bearer token was revoked');
      if (row.expiresAt !== null && row.expiresAt <= now().toISOString()) {
        throw new AuthenticationFailure('expired', row.id, 'the bearer token has expired');
      }
      return { tokenId: row.id, name: row.name, role: row.role, hosts: row.hosts, expiresAt: row.expiresAt };
    },

    bootstrap(name, role, tx) {
      return mint(
        name,
        role,
        null,
        null,
        (inTx, row) => audit.appendIn(inTx, { action: 'token.create', targetId: row.id, outcome: 'ok', detail: { role, bootstrap: true } }),
        tx,
      );
    },
  };
}

/** The token's row; one edited without the root key (its MAC fails) is refused like an invalid token, and audited as tampered. */
async function findTokenRow(tokens: Pick<TokenTable, 'findById'>, id: string): Promise<Readonly<TokenRow> | undefined> {
  try {
    return await tokens.findById(id);
  } catch (error) {
    if (error instanceof RowAuthenticationError) throw new AuthenticationFailure('tampered', id, 'the bearer token is not valid');
    throw error;
  }
}

function isActive(row: TokenRow, at: string): boolean {
  return row.revokedAt === null && (row.expiresAt === null || row.expiresAt > at);
}

/**
 * The last-admin guard: an active admin token may be revoked only while another active admin token
 * lives at least as long (a non-expiring one counts as longest). So the store always keeps its
 * longest-lived admin, and a temporary admin can never revoke a permanent one.
 */
function outlivedByAnotherAdmin(target: TokenRow, tokens: readonly TokenRow[], at: string): boolean {
  return tokens.some(
    (other) =>
      other.id !== target.id &&
      other.role === 'admin' &&
      isActive(other, at) &&
      (other.expiresAt === null || (target.expiresAt !== null && other.expiresAt >= target.expiresAt)),
  );
}

/** The public view of a token: never its value or hash. */
export function tokenSummary(row: TokenRow): TokenSummary {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    hosts: row.hosts,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}
