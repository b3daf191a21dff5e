import { ROLES, type Role } from '@dcs/shared';
import { describe, expect, it } from 'vitest';
import { ACTIONS, MANAGEABLE_ROLES, PERMISSIONS, type Action } from './permissions.js';

/**
 * The whole role table, written out: Y = allowed, . = denied. Columns: admin, manager, auditor, runner.
 * Changing permissions.ts must change this table too.
 */
const TABLE: Record<Action, string> = {
  'integration.create': 'Y Y . .',
  'integration.read':   'Y Y Y .',
  'integration.update': 'Y Y . .',
  'integration.delete': 'Y Y . .',
  'integration.test':   'Y Y . .',
  'token.create':       'Y Y . .',
  'token.read':         'Y Y Y .',
  'token.revoke':       'Y Y . .',
  'token.self':         'Y Y Y Y',
  'credential.get':     'Y Y . Y',
  'credential.list':    'Y Y . Y',
  'credential.store':   'Y Y . .',
  'credential.erase':   'Y Y . .',
  'audit.read':         'Y . Y .',
};

/** Which token roles each role may mint and revoke. Columns as above. */
const MANAGE_TABLE: Record<Role, string> = {
  admin:   'Y Y Y Y',
  manager: '. . . Y',
  auditor: '. . . .',
  runner:  '. . . .',
};

function allowedRoles(row: string): Role[] {
  return row.split(' ').flatMap((cell, i) => (cell === 'Y' ? [ROLES[i]!] : []));
}

describe('PERMISSIONS', () => {
  it('lists every action in the expected table', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...ACTIONS].sort());
  });

  it.each(Object.entries(TABLE))('allows %s to exactly the roles in the table', (action, row) => {
    const actual = ROLES.filter((role) => PERMISSIONS[role].has(action as Action));

    expect(actual).toEqual(allowedRoles(row));
  });

  it('gives admin every action', () => {
    expect([...PERMISSIONS.admin].sort()).toEqual([...ACTIONS].sort());
  });

  it('gives an auditor nothing that reads or writes a secret', () => {
    const secretActions: Action[] = ['credential.get', 'credential.store', 'credential.erase', 'integration.create', 'integration.update'];

    expect(secretActions.filter((action) => PERMISSIONS.auditor.has(action))).toEqual([]);
  });
});

describe('MANAGEABLE_ROLES', () => {
  it.each(Object.entries(MANAGE_TABLE))('lets a %s manage tokens of exactly the roles in the table', (role, row) => {
    const actual = ROLES.filter((target) => MANAGEABLE_ROLES[role as Role].has(target));

    expect(actual).toEqual(allowedRoles(row));
  });
});
