/** The audit view: newest first, filters, paging, and the hash chain checked over the rows shown. */
import { describeFailure, type AuditFilters } from '../api.js';
import { checkChain, type ChainCheck } from '../audit-chain.js';
import type { AuditEvent } from '../contract.js';
import { field, h, replaceChildren } from '../dom.js';
import { formatTime } from '../format.js';
import type { ConsoleContext, View } from './context.js';

const PAGE_SIZE = 50;

/** Actions the daemon audits, offered as suggestions for the action filter. */
const KNOWN_ACTIONS = [
  'integration.create', 'integration.update', 'integration.delete', 'integration.test', 'integration.read',
  'token.create', 'token.revoke', 'token.read', 'credential.get', 'credential.list', 'credential.store',
  'credential.erase', 'audit.read', 'auth.failed',
];

export function auditView(ctx: ConsoleContext): View {
  const host = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const action = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', list: 'audit-actions' });
  const token = h('select', {}, h('option', { value: '' }, 'Any token'));
  const since = h('input', { type: 'datetime-local' });
  const rows = h('tbody');
  const status = h('p', { role: 'status', class: 'status' });
  const chain = h('p', { class: 'chain', role: 'status' });
  const newer = h('button', { type: 'button', disabled: true }, 'Newer');
  const older = h('button', { type: 'button', disabled: true }, 'Older');

  let filters: AuditFilters = {};
  /** Token names by id, for rows that carry only an id (a failed sign-in names the token it claimed). */
  let tokenNames = new Map<string, string>();
  /** `before` of each page shown so far (undefined: the newest), for "Newer". */
  const stack: Array<number | undefined> = [];
  let current: number | undefined;
  let oldestShown: number | undefined;

  const readFilters = (): AuditFilters => ({
    ...(host.value.trim() ? { host: host.value.trim() } : {}),
    ...(action.value.trim() ? { action: action.value.trim() } : {}),
    ...(token.value ? { token: token.value } : {}),
    ...(since.value ? { since: new Date(since.value).toISOString() } : {}),
  });

  async function load(before: number | undefined) {
    status.textContent = 'Loading…';
    try {
      const page = await ctx.api.auditNewestFirst(filters, PAGE_SIZE, before);
      current = before;
      oldestShown = page.events.at(-1)?.seq;
      replaceChildren(rows, ...page.events.map((event) => row(event, tokenNames)));
      status.textContent = page.events.length
        ? `Events ${page.events.at(-1)!.seq}–${page.events[0]!.seq} (log sequence numbers), newest first.`
        : 'No events match.';
      older.disabled = !page.hasOlder;
      newer.disabled = stack.length === 0;
      showChain(await checkChain(page.events));
    } catch (failure) {
      status.textContent = `Could not load the audit log: ${describeFailure(failure)}`;
    }
  }

  function showChain(check: ChainCheck) {
    const cli = ' The whole log, from its first row to its recorded head: scalr-credd audit verify on the daemon’s host.';
    if (check.kind === 'verified') {
      chain.className = 'chain ok';
      replaceChildren(chain, h('strong', {}, 'Hash chain verified'), ` for the rows shown: each of ${check.links} rows in ${check.from}–${check.to} follows the one before it.${cli}`);
    } else if (check.kind === 'broken') {
      chain.className = 'chain broken';
      replaceChildren(chain, h('strong', {}, 'Hash chain BROKEN'), ` at row ${check.seq}: it does not hash to what is stored with the row before it. The log was changed.${cli}`);
    } else {
      chain.className = 'chain';
      replaceChildren(chain, h('strong', {}, 'Hash chain not checked'), `: ${check.reason}.${cli}`);
    }
  }

  newer.addEventListener('click', () => void load(stack.pop()));
  older.addEventListener('click', () => {
    stack.push(current);
    void load(oldestShown);
  });

  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Audit filters',
      onsubmit: (event: Event) => {
        event.preventDefault();
        filters = readFilters();
        stack.length = 0;
        void load(undefined);
      },
    },
    field('Host', host),
    field('Action', action, 'e.g. credential.get'),
    field('Token', token),
    field('Since', since),
    h('datalist', { id: 'audit-actions' }, ...KNOWN_ACTIONS.map((value) => h('option', { value }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters'), h('button', { type: 'reset' }, 'Clear')),
  );
  form.addEventListener('reset', () => {
    filters = {};
    stack.length = 0;
    setTimeout(() => void load(undefined));
  });

  async function refresh() {
    try {
      const tokens = await ctx.api.listTokens();
      tokenNames = new Map(tokens.map((t) => [t.id, `${t.name} (${t.role})`]));
      replaceChildren(token, h('option', { value: '' }, 'Any token'), ...tokens.map((t) => h('option', { value: t.id }, `${t.name} (${t.role})`)));
    } catch {
      // The filter still takes "any token".
    }
    stack.length = 0;
    await load(undefined);
  }

  const element = h(
    'section',
    { 'aria-labelledby': 'audit-title' },
    h('div', { class: 'view-head' }, h('h2', { id: 'audit-title', tabindex: '-1' }, 'Audit')),
    chain,
    form,
    status,
    h(
      'div',
      { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Audit events' },
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Audit events, newest first'),
        h('thead', {}, h('tr', {}, ...['#', 'Time', 'Action', 'Outcome', 'Host', 'Token', 'Details'].map((name) => h('th', { scope: 'col' }, name)))),
        rows,
      ),
    ),
    h('div', { class: 'actions pager' }, newer, older),
  );
  return { element, refresh };
}

function row(event: AuditEvent, tokenNames: ReadonlyMap<string, string>): HTMLTableRowElement {
  const tokenName = event.tokenName ? `${event.tokenName}${event.role ? ` (${event.role})` : ''}` : event.tokenId ? (tokenNames.get(event.tokenId) ?? event.tokenId) : '—';
  return h(
    'tr',
    { class: event.outcome === 'ok' ? '' : 'not-ok' },
    h('td', {}, String(event.seq)),
    h('td', {}, h('time', { datetime: event.at }, formatTime(event.at))),
    h('td', {}, event.action),
    h('td', {}, event.outcome),
    h('td', {}, event.host ?? '—'),
    h('td', {}, tokenName),
    h('td', { class: 'detail' }, event.detail ? JSON.stringify(event.detail) : ''),
  );
}
