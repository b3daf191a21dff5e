/**
 * Authorization: one function every use case calls before it reads plaintext or writes.
 *
 * Must never happen:
 * - an action is allowed because a check was skipped: every service call goes through assertCan;
 * - a host-limited token reads or changes an integration outside its host list, or sees or revokes
 *   a token (or an audit event) that reaches beyond it;
 * - a token mints a token that reaches further (hosts) or lives longer than itself;
 * - a token mints or revokes a token of a role it may not manage;
 * - a denial reveals whether a host exists (callers that must hide it turn Forbidden into NotFound).
 */
import type { Role } from '@dcs/shared';
import { ForbiddenError } from '../errors.js';
import { ACTION_WORDS, MANAGEABLE_ROLES, PERMISSIONS, type Action } from './permissions.js';

/** Who is asking: the authenticated token's identity and limits. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Canonical hosts this token is limited to; null means every host. */
  hosts: readonly string[] | null;
  expiresAt: string | null;
}

/** What an action is applied to, when it matters. */
export interface Resource {
  host?: string;
  role?: Role;
}

/** Whether the principal may perform the action on the resource. */
export function can(principal: Principal, action: Action, resource: Resource = {}): boolean {
  if (!PERMISSIONS[principal.role].has(action)) return false;
  if (resource.host !== undefined && !mayUseHost(principal, resource.host)) return false;
  if (resource.role !== undefined && (action === 'token.create' || action === 'token.revoke')) {
    return MANAGEABLE_ROLES[principal.role].has(resource.role);
  }
  return true;
}

/** Returns when allowed; otherwise throws ForbiddenError naming the role and the action in words. */
export function assertCan(principal: Principal, action: Action, resource: Resource = {}): void {
  if (can(principal, action, resource)) return;
  const target = resource.role ? ` of role ${resource.role}` : resource.host ? ` on ${resource.host}` : '';
  const article = /^[aeiou]/.test(principal.role) ? 'an' : 'a';
  throw new ForbiddenError(`${article} ${principal.role} token may not ${ACTION_WORDS[action]}${target}`);
}

/** Whether a host-limited token covers this host. */
export function mayUseHost(principal: Principal, host: string): boolean {
  return principal.hosts === null || principal.hosts.includes(host);
}

/**
 * Whether a host list (a token's `hosts`; null is every host) lies within the principal's: always for
 * an unlimited principal, never for an unlimited list under a host-limited one.
 */
export function coversHosts(principal: Principal, hosts: readonly string[] | null): boolean {
  const scope = principal.hosts;
  return scope === null || (hosts !== null && hosts.every((host) => scope.includes(host)));
}
