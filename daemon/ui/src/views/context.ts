/** What every view gets: the API client, the signed-in token and what its role may do. */
import { MANAGEABLE_ROLES, PERMISSIONS, type Action } from '../../../src/auth/permissions.js';
import type { Api } from '../api.js';
import type { Role, WhoAmI } from '../contract.js';

export interface ConsoleContext {
  api: Api;
  /** The signed-in token. */
  me: WhoAmI;
  /** Whether the daemon lets the signed-in role do `action` (the daemon's own permissions table). */
  can(action: Action): boolean;
  /** The roles the signed-in token may mint and revoke tokens of. */
  manageableRoles: readonly Role[];
}

/** A view: its element, and how to load (again) what it shows. */
export interface View {
  element: HTMLElement;
  refresh(): Promise<void>;
}

export function consoleContext(api: Api, me: WhoAmI): ConsoleContext {
  return {
    api,
    me,
    can: (action) => PERMISSIONS[me.role].has(action),
    manageableRoles: [...MANAGEABLE_ROLES[me.role]],
  };
}

/** A list of hosts in words. */
export function describeHosts(hosts: readonly string[] | null): string {
  return hosts === null ? 'all hosts' : hosts.join(', ');
}
