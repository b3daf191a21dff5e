import type { Role } from '@dcs/shared';

/**
 * Everything a token can be allowed to do, each in words for the message that refuses it:
 * "a runner token may not read integrations". The keys are the action names.
 */
export const ACTION_WORDS = {
  'integration.create': 'create integrations',
  'integration.read': 'read integrations',
  'integration.update': 'update integrations',
  'integration.delete': 'delete integrations',
  'integration.test': 'test integrations',
  'token.create': 'create tokens',
  'token.read': 'list tokens',
  'token.revoke': 'revoke tokens',
  'token.self': 'describe itself',
  'credential.get': 'get credentials',
  'credential.list': 'list credentials',
  'credential.store': 'store credentials',
  'credential.erase': 'erase credentials',
  'audit.read': 'read the audit log',
} as const satisfies Readonly<Record<string, string>>;
export type Action = keyof typeof ACTION_WORDS;
export const ACTIONS: readonly Action[] = Object.keys(ACTION_WORDS) as Action[];

/**
 * Role → allowed actions. Data only; `authorize.ts` applies it.
 * admin: everything. manager: everything but the audit log (integrations, runner tokens, the
 * helper's verbs).
 * auditor: metadata and the audit log, never a secret. runner: credential lookup only.
 * Every role may describe itself (`GET /v1/whoami`).
 */
export const PERMISSIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set(ACTIONS),
  manager: new Set(ACTIONS.filter((action) => action !== 'audit.read')),
  auditor: new Set<Action>(['integration.read', 'token.read', 'token.self', 'audit.read']),
  runner: new Set<Action>(['token.self', 'credential.get', 'credential.list']),
};

/** Roles each role may mint or revoke tokens of: a manager only runner tokens. */
export const MANAGEABLE_ROLES: Readonly<Record<Role, ReadonlySet<Role>>> = {
  admin: new Set<Role>(['admin', 'manager', 'auditor', 'runner']),
  manager: new Set<Role>(['runner']),
  auditor: new Set<Role>(),
  runner: new Set<Role>(),
};
