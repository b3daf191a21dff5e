import { ROLES, type Role } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors.js';
import { assertCan, can, coversHosts, mayUseHost, type Principal } from './authorize.js';

function principal(role: Role, hosts: string[] | null = null): Principal {
  return { tokenId: 'tok_0123456789abcdef', name: `${role} token`, role, hosts, expiresAt: null };
}

describe('can', () => {
  it('allows a manager to mint and revoke only runner tokens', () => {
    const manager = principal('manager');

    const mint = ROLES.filter((role) => can(manager, 'token.create', { role }));
    const revoke = ROLES.filter((role) => can(manager, 'token.revoke', { role }));

    expect(mint).toEqual(['runner']);
    expect(revoke).toEqual(['runner']);
  });

  it('allows an admin to mint tokens of every role', () => {
    const admin = principal('admin');

    expect(ROLES.filter((role) => can(admin, 'token.create', { role }))).toEqual([...ROLES]);
  });

  it('allows a host-limited runner only on hosts in its list', () => {
    const runner = principal('runner', ['ghcr.io', 'registry.example.com:5000']);

    const decisions = ['ghcr.io', 'registry.example.com:5000', 'registry.example.com', 'quay.io'].map((host) => [
      host,
      can(runner, 'credential.get', { host }),
    ]);

    expect(decisions).toEqual([
      ['ghcr.io', true],
      ['registry.example.com:5000', true],
      ['registry.example.com', false],
      ['quay.io', false],
    ]);
  });

  it('denies a host-limited manager a write outside its hosts and allows it inside', () => {
    const manager = principal('manager', ['ghcr.io']);

    expect(can(manager, 'integration.update', { host: 'ghcr.io' })).toBe(true);
    expect(can(manager, 'integration.update', { host: 'quay.io' })).toBe(false);
  });

  it('denies an action the role lacks even on an allowed host', () => {
    const runner = principal('runner', ['ghcr.io']);

    expect(can(runner, 'credential.store', { host: 'ghcr.io' })).toBe(false);
  });

  it('ignores a role in the resource for actions that are not about tokens', () => {
    const runner = principal('runner');

    expect(can(runner, 'credential.get', { role: 'admin' })).toBe(true);
  });
});

describe('assertCan', () => {
  it('returns when the action is allowed', () => {
    expect(() => assertCan(principal('auditor'), 'audit.read')).not.toThrow();
  });

  it('throws ForbiddenError when the role lacks the action', () => {
    expect(() => assertCan(principal('runner'), 'integration.read')).toThrow(ForbiddenError);
  });

  it('says in words what was refused, with the role it names', () => {
    expect(() => assertCan(principal('runner'), 'integration.read')).toThrow(/^a runner token may not read integrations$/);
    expect(() => assertCan(principal('auditor'), 'credential.get', { host: 'ghcr.io' })).toThrow(/^an auditor token may not get credentials on ghcr\.io$/);
    expect(() => assertCan(principal('manager'), 'token.create', { role: 'admin' })).toThrow(/^a manager token may not create tokens of role admin$/);
    expect(() => assertCan(principal('manager'), 'audit.read')).toThrow(/^a manager token may not read the audit log$/);
  });

  it('throws ForbiddenError with code forbidden when the token role is out of reach', () => {
    let error: unknown;
    try {
      assertCan(principal('manager'), 'token.create', { role: 'admin' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).code).toBe('forbidden');
    expect((error as ForbiddenError).status).toBe(403);
  });
});

describe('mayUseHost', () => {
  it('covers every host when the token has no host list', () => {
    expect(mayUseHost(principal('runner'), 'anything.example.com')).toBe(true);
  });

  it('compares canonical hosts exactly when the token has a host list', () => {
    const runner = principal('runner', ['ghcr.io']);

    expect(mayUseHost(runner, 'ghcr.io')).toBe(true);
    expect(mayUseHost(runner, 'ghcr.io:5000')).toBe(false);
    expect(mayUseHost(runner, 'sub.ghcr.io')).toBe(false);
  });
});

describe('coversHosts', () => {
  it.each([
    [null, null, true],
    [null, ['quay.io'], true],
    [['ghcr.io'], null, false],
    [['ghcr.io'], ['ghcr.io'], true],
    [['ghcr.io', 'quay.io'], ['ghcr.io'], true],
    [['ghcr.io'], ['ghcr.io', 'quay.io'], false],
    [['ghcr.io'], ['quay.io'], false],
    [['ghcr.io'], [], true],
  ])('says a token limited to %j covers %j: %s', (scope, hosts, expected) => {
    expect(coversHosts(principal('manager', scope), hosts)).toBe(expected);
  });
});
