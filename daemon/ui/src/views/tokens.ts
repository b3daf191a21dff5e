/** The tokens view: list, create (the value shown once), revoke. */
import { describeFailure } from '../api.js';
import type { CreatedToken, CreateTokenBody, Role, TokenSummary } from '../contract.js';
import { announce, confirmAction, errorBox, facts, field, h, openDialog, replaceChildren } from '../dom.js';
import { formatTime } from '../format.js';
import { describeHosts, type ConsoleContext, type View } from './context.js';
import { expiry } from './integrations.js';

/** The lifetimes offered, in seconds (the API takes 60 s to one year). */
const TTL_CHOICES: ReadonlyArray<[string, number]> = [
  ['15 minutes', 900],
  ['1 hour', 3600],
  ['8 hours', 8 * 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
  ['30 days', 30 * 86_400],
  ['90 days', 90 * 86_400],
  ['1 year', 365 * 86_400],
];

export function tokensView(ctx: ConsoleContext): View {
  let items: TokenSummary[] = [];
  const list = h('ul', { class: 'cards', 'aria-label': 'Token list' });
  const status = h('p', { role: 'status', class: 'status' });
  const created = h('div');
  const canCreate = ctx.can('token.create') && ctx.manageableRoles.length > 0;
  const create = canCreate ? h('button', { type: 'button', class: 'primary', onclick: () => void openCreate() }, 'Create token') : null;

  async function openCreate() {
    const token = await openCreateForm(ctx);
    if (!token) return;
    showOnce(token);
    await refresh();
  }

  /** The new token's value, in this panel only: not stored anywhere, gone on reload or "Done". */
  function showOnce(token: CreatedToken) {
    const value = h('input', { type: 'text', readonly: true, spellcheck: 'false', autocomplete: 'off', class: 'token-value' });
    value.value = token.token;
    const copied = h('span', { role: 'status' });
    const copy = h('button', { type: 'button' }, 'Copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(value.value);
        copied.textContent = 'Copied.';
      } catch {
        value.select();
        copied.textContent = 'Select and copy it by hand (Ctrl+C).';
      }
    });
    const heading = h('h3', { tabindex: '-1' }, `New token: ${token.name}`);
    const panel = h(
      'section',
      { class: 'once', 'aria-label': 'New token' },
      heading,
      h('p', {}, h('strong', {}, 'Copy it now: you will not see this again.'), ' The daemon keeps only a hash of it.'),
      field('New token', value),
      h('div', { class: 'actions' }, copy, h('button', { type: 'button', onclick: () => replaceChildren(created) }, 'Done'), copied),
    );
    replaceChildren(created, panel);
    heading.focus();
  }

  function card(token: TokenSummary): HTMLElement {
    const self = token.id === ctx.me.id;
    const revocable = token.revokedAt === null && ctx.can('token.revoke') && ctx.manageableRoles.includes(token.role) && !isGuardedAdmin(token, items);
    return h(
      'li',
      { class: token.revokedAt ? 'card revoked' : 'card' },
      h('h3', {}, token.name, self ? ' (you)' : ''),
      facts([
        ['Role', token.role],
        ['Hosts', describeHosts(token.hosts)],
        ['Created', formatTime(token.createdAt)],
        ['Expires', expiry(token.expiresAt, false)],
        ['Revoked', token.revokedAt ? formatTime(token.revokedAt) : 'no'],
        ['ID', token.id],
      ]),
      revocable
        ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: () => void revoke(token) }, 'Revoke', h('span', { class: 'visually-hidden' }, ` ${token.name}`)))
        : null,
    );
  }

  async function revoke(token: TokenSummary) {
    const self = token.id === ctx.me.id;
    const confirmed = await confirmAction(
      `Revoke ${token.name}?`,
      `Every request with the token ${token.name} (${token.role}) is refused from now on.${self ? ' It is the token you are signed in with: you will be signed out.' : ''}`,
      `Revoke ${token.name}`,
    );
    if (!confirmed) return;
    try {
      await ctx.api.revokeToken(token.id);
      announce(`Revoked ${token.name}.`);
    } catch (failure) {
      announce(`Not revoked: ${describeFailure(failure)}`);
    }
    await refresh();
  }

  async function refresh() {
    status.textContent = 'Loading…';
    try {
      items = (await ctx.api.listTokens()).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      replaceChildren(list, ...items.map(card));
      status.textContent = `${items.length} token${items.length === 1 ? '' : 's'}.`;
    } catch (failure) {
      status.textContent = `Could not load the tokens: ${describeFailure(failure)}`;
    }
  }

  const element = h(
    'section',
    { 'aria-labelledby': 'tokens-title' },
    h('div', { class: 'view-head' }, h('h2', { id: 'tokens-title', tabindex: '-1' }, 'Tokens'), create),
    created,
    status,
    list,
  );
  return { element, refresh };
}

/**
 * Whether the daemon's last-admin guard keeps this token (it answers 409): an active admin token can be
 * revoked only while another active admin token lives at least as long (a non-expiring one: another
 * non-expiring one).
 */
function isGuardedAdmin(token: TokenSummary, all: readonly TokenSummary[]): boolean {
  const active = (t: TokenSummary) => t.revokedAt === null && (t.expiresAt === null || new Date(t.expiresAt).getTime() > Date.now());
  if (token.role !== 'admin' || !active(token)) return false;
  return !all.some(
    (other) => other.id !== token.id && other.role === 'admin' && active(other) && (other.expiresAt === null || (token.expiresAt !== null && other.expiresAt >= token.expiresAt)),
  );
}

/** The create form; resolves with the created token (its value included), or undefined. */
async function openCreateForm(ctx: ConsoleContext): Promise<CreatedToken | undefined> {
  let result: CreatedToken | undefined;
  await openDialog('Create token', (close) => {
    const name = h('input', { type: 'text', required: true, maxlength: '100', autocomplete: 'off' });
    const role = h('select', {}, ...ctx.manageableRoles.map((value) => h('option', { value }, value)));
    role.value = ctx.manageableRoles.includes('runner') ? 'runner' : ctx.manageableRoles[0]!;
    const ttl = h('select', {}, ...ttlOptions(ctx.me.expiresAt));
    ttl.value = '3600';
    if (ttl.value !== '3600') ttl.selectedIndex = 0;
    const hosts = h('textarea', { rows: '2', spellcheck: 'false', autocomplete: 'off', required: ctx.me.hosts !== null });
    const error = errorBox();

    const submit = async (event: Event) => {
      event.preventDefault();
      error.clear();
      const hostList = hosts.value.split(/[\s,]+/).filter(Boolean);
      const body: CreateTokenBody = {
        name: name.value.trim(),
        role: role.value as Role,
        ...(ttl.value ? { ttlSeconds: Number(ttl.value) } : {}),
        ...(hostList.length ? { hosts: hostList } : {}),
      };
      try {
        result = await ctx.api.createToken(body);
        close();
      } catch (failure) {
        error.show(`Not created: ${describeFailure(failure)}`);
      }
    };

    return h(
      'form',
      { onsubmit: (event: Event) => void submit(event) },
      field('Name', name, 'Says where it is used, e.g. ci-run-42.'),
      field('Role', role, ctx.manageableRoles.length < 4 ? `Your role (${ctx.me.role}) may create ${ctx.manageableRoles.join(', ')} tokens.` : undefined),
      field('TTL', ttl, 'How long the token lives. Runner tokens should live briefly.'),
      field(
        'Hosts',
        hosts,
        ctx.me.hosts === null ? 'Registry hosts the token may use, separated by spaces or commas; empty for all hosts.' : `Required, within your hosts: ${ctx.me.hosts.join(', ')}.`,
      ),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create'), h('button', { type: 'button', onclick: close }, 'Cancel')),
    );
  });
  return result;
}

/** The TTL choices that end before the signed-in token does (the API refuses a longer one). */
function ttlOptions(myExpiry: string | null): HTMLOptionElement[] {
  const left = myExpiry === null ? Infinity : (new Date(myExpiry).getTime() - Date.now()) / 1000;
  const options = TTL_CHOICES.filter(([, seconds]) => seconds <= left).map(([label, seconds]) => h('option', { value: String(seconds) }, label));
  options.push(h('option', { value: '' }, myExpiry === null ? 'No expiry' : `Until your token expires (${formatTime(myExpiry)})`));
  return options;
}
