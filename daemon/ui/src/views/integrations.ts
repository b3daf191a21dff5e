/** The integrations view: list with a host filter, add, edit, export toggle, credential test, delete. */
import { describeFailure } from '../api.js';
import type { IntegrationSummary } from '../contract.js';
import { announce, confirmAction, facts, field, h, replaceChildren } from '../dom.js';
import { expiryState, formatTime, fromNow } from '../format.js';
import type { ConsoleContext, View } from './context.js';
import { openIntegrationForm, PROVIDER_NAMES } from './integration-form.js';

export function integrationsView(ctx: ConsoleContext): View {
  let items: IntegrationSummary[] = [];
  const list = h('ul', { class: 'cards', 'aria-label': 'Integration list' });
  const status = h('p', { role: 'status', class: 'status' });
  const filter = h('input', { type: 'search', autocomplete: 'off', spellcheck: 'false' });
  filter.addEventListener('input', () => render());

  const add = ctx.can('integration.create')
    ? h('button', { type: 'button', class: 'primary', onclick: () => void edit() }, 'Add integration')
    : null;

  async function edit(existing?: IntegrationSummary) {
    const saved = await openIntegrationForm(ctx, existing);
    if (!saved) return;
    // The answer is the integration as stored: shown at once, without another listing.
    items = existing ? items.map((item) => (item.id === saved.id ? saved : item)) : [...items, saved].sort((a, b) => a.host.localeCompare(b.host));
    render();
    announce(`${existing ? 'Saved' : 'Added'} the integration for ${saved.host}.`);
  }

  function render() {
    const query = filter.value.trim().toLowerCase();
    const shown = items.filter((item) => item.host.toLowerCase().includes(query));
    replaceChildren(list, ...shown.map(card));
    status.textContent = items.length === 0 ? 'No integrations yet.' : `${shown.length} of ${items.length} integration${items.length === 1 ? '' : 's'} shown.`;
  }

  function card(item: IntegrationSummary): HTMLElement {
    const named = (label: string) => [label, h('span', { class: 'visually-hidden' }, ` ${item.host}`)];
    const actions = h('div', { class: 'actions' });
    if (ctx.can('integration.test')) {
      const button = h('button', { type: 'button' }, ...named('Test'));
      button.addEventListener('click', () => void runTest(item, button));
      actions.append(button);
    }
    if (ctx.can('integration.update')) actions.append(h('button', { type: 'button', onclick: () => void edit(item) }, ...named('Edit')));
    if (ctx.can('integration.delete')) actions.append(h('button', { type: 'button', class: 'danger', onclick: () => void remove(item) }, ...named('Delete')));
    return h(
      'li',
      { class: 'card' },
      h('h3', {}, item.host),
      facts([
        ['Provider', PROVIDER_NAMES[item.provider]],
        ['Username', item.username],
        ...(item.identity ? [['Identity', Object.entries(item.identity).map(([key, value]) => `${key}: ${value}`).join(', ')] as [string, string]] : []),
        ['Export', exportControl(item)],
        ['Expires', expiry(item.expiresAt)],
        ['Last test', lastTest(item)],
        ...(item.description ? [['Description', item.description] as [string, string]] : []),
      ]),
      actions.childElementCount ? actions : null,
    );
  }

  function exportControl(item: IntegrationSummary): Node {
    if (!ctx.can('integration.update')) return document.createTextNode(item.export ? 'yes: served to helpers' : 'no: stored, not served');
    const toggle = h('input', { type: 'checkbox', role: 'switch' });
    toggle.checked = item.export;
    toggle.addEventListener('change', async () => {
      toggle.disabled = true;
      try {
        const saved = await ctx.api.updateIntegration(item.id, { export: toggle.checked });
        Object.assign(item, saved);
        announce(saved.export ? `${item.host} is exported to helpers.` : `${item.host} is no longer exported: helpers get not found.`);
      } catch (failure) {
        toggle.checked = item.export;
        announce(`Export of ${item.host} not changed: ${describeFailure(failure)}`);
      } finally {
        toggle.disabled = false;
      }
    });
    const label = h('label', { class: 'switch' }, toggle, ' Export credentials', h('span', { class: 'visually-hidden' }, ` for ${item.host}`));
    return label;
  }

  async function runTest(item: IntegrationSummary, button: HTMLButtonElement) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const report = await ctx.api.testIntegration(item.id);
      Object.assign(item, { lastTestResult: report.result, lastTestDetail: report.detail, lastTestedAt: report.testedAt });
      announce(`Test of ${item.host}: ${report.result}${report.detail ? ` (${report.detail})` : ''}.`);
    } catch (failure) {
      announce(`Test of ${item.host} failed: ${describeFailure(failure)}`);
    } finally {
      // Re-renders every card (this one's button too), with the result recorded on the item.
      render();
    }
  }

  async function remove(item: IntegrationSummary) {
    const confirmed = await confirmAction(
      `Delete ${item.host}?`,
      `The credential for ${item.host} is deleted now; helpers asking for ${item.host} get not found from then on.`,
      `Delete ${item.host}`,
    );
    if (!confirmed) return;
    try {
      await ctx.api.deleteIntegration(item.id);
      announce(`Deleted the integration for ${item.host}.`);
    } catch (failure) {
      announce(`Not deleted: ${describeFailure(failure)}`);
    }
    await refresh();
  }

  async function refresh() {
    status.textContent = 'Loading…';
    try {
      items = await ctx.api.listIntegrations();
      render();
    } catch (failure) {
      status.textContent = `Could not load the integrations: ${describeFailure(failure)}`;
    }
  }

  const element = h(
    'section',
    { 'aria-labelledby': 'integrations-title' },
    h('div', { class: 'view-head' }, h('h2', { id: 'integrations-title', tabindex: '-1' }, 'Integrations'), add),
    h('div', { class: 'toolbar' }, field('Filter by host', filter)),
    status,
    list,
  );
  return { element, refresh };
}

/** The last test: result, when, and the short reason. */
function lastTest(item: IntegrationSummary): Node {
  if (item.lastTestResult === null || item.lastTestedAt === null) return document.createTextNode('never tested');
  return h(
    'span',
    { class: `result result-${item.lastTestResult}` },
    h('strong', {}, item.lastTestResult),
    ` · ${fromNow(item.lastTestedAt)}`,
    item.lastTestDetail ? ` · ${item.lastTestDetail}` : '',
  );
}

/** An expiry with a warning when it is past, or close when `warnAhead` (credentials; a token's short life is normal). */
export function expiry(iso: string | null, warnAhead = true): Node {
  const state = expiryState(iso);
  if (iso === null || state === 'none') return document.createTextNode('never');
  const when = `${formatTime(iso)} (${fromNow(iso)})`;
  if (state === 'expired') return h('span', { class: 'warn' }, h('strong', {}, 'Expired: '), when);
  if (state === 'soon' && warnAhead) return h('span', { class: 'warn' }, h('strong', {}, '⚠ Expires soon: '), when);
  return document.createTextNode(when);
}
