/**
 * The add and edit form of an integration, with the fields of each provider as the API takes them.
 * Secrets are write-only: an edit never shows one; it says "set" and offers "Replace", and only a
 * replaced secret (or identity) is sent.
 */
import { describeFailure } from '../api.js';
import type { CreateIntegrationBody, IntegrationProvider, IntegrationSummary, UpdateIntegrationBody } from '../contract.js';
import { errorBox, field, h, openDialog } from '../dom.js';
import type { ConsoleContext } from './context.js';

/** The providers, as the form names them. */
export const PROVIDER_NAMES: Readonly<Record<IntegrationProvider, string>> = {
  static: 'Static username and secret',
  'aws-ecr': 'AWS ECR (minted from an access key)',
  'azure-acr': 'Azure ACR (minted from an Entra ID application)',
  google: 'Google Artifact Registry (minted from a service account)',
};

type Control = HTMLInputElement | HTMLTextAreaElement;

const text = (attributes: Record<string, string | boolean> = {}) => h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attributes });
const secret = () => h('input', { type: 'password', autocomplete: 'new-password', spellcheck: 'false' });
const area = (rows: number) => h('textarea', { rows, spellcheck: 'false', autocomplete: 'off' });

/** One provider's identity fields: which are secret, and how they become the API's object. */
interface ProviderFields {
  fieldset: HTMLFieldSetElement;
  /** Fields whose values are write-only. */
  secrets: Control[];
  /** Every field, for required-ness and reading. */
  controls: Record<string, Control>;
  /** The API object built from the fields (undefined values dropped). */
  read(): Record<string, unknown>;
}

function providerFieldsets(): Record<IntegrationProvider, ProviderFields> {
  const make = (
    legend: string,
    specs: Array<{ key: string; label: string; control: Control; required?: boolean; secret?: boolean; hint?: string; number?: boolean }>,
  ): ProviderFields => {
    const controls = Object.fromEntries(specs.map((spec) => [spec.key, spec.control]));
    for (const spec of specs) spec.control.required = spec.required ?? false;
    return {
      fieldset: h('fieldset', {}, h('legend', {}, legend), ...specs.map((spec) => field(spec.label, spec.control, spec.hint))),
      secrets: specs.filter((spec) => spec.secret).map((spec) => spec.control),
      controls,
      read: () =>
        Object.fromEntries(
          specs
            .map((spec) => [spec.key, spec.number ? Number(spec.control.value) : spec.control.value.trim()] as const)
            .filter(([key, value]) => value !== '' && !(typeof value === 'number' && controls[key]!.value.trim() === '')),
        ),
    };
  };
  return {
    static: make('Credential', [
      { key: 'username', label: 'Username', control: text(), required: true },
      { key: 'secret', label: 'Secret', control: secret(), required: true, secret: true, hint: 'A password or access token. Write-only: it is never shown again.' },
    ]),
    'aws-ecr': make('AWS identity', [
      { key: 'accessKeyId', label: 'Access key ID', control: text(), required: true },
      { key: 'secretAccessKey', label: 'Secret access key', control: secret(), required: true, secret: true },
      { key: 'region', label: 'Region', control: text({ placeholder: 'eu-west-1' }), hint: 'Required when the host is not an ECR host name.' },
      { key: 'roleArn', label: 'Role ARN', control: text(), hint: 'Assumed through STS before the token is requested.' },
      { key: 'externalId', label: 'External ID', control: text() },
      { key: 'sessionDurationSeconds', label: 'Session duration (seconds)', control: text({ inputmode: 'numeric' }), number: true, hint: '900 to 43200; only with a role ARN.' },
    ]),
    'azure-acr': make('Entra ID application', [
      { key: 'tenantId', label: 'Tenant ID', control: text(), required: true },
      { key: 'clientId', label: 'Client ID', control: text(), required: true },
      { key: 'clientSecret', label: 'Client secret', control: secret(), required: true, secret: true },
    ]),
    google: make('Service account', [
      { key: 'serviceAccountKey', label: 'Service account key (JSON)', control: area(6), required: true, secret: true, hint: 'The JSON key file’s content. Write-only.' },
    ]),
  };
}

/** The API's identity object name of each cloud provider. */
const IDENTITY_KEY = { 'aws-ecr': 'aws', 'azure-acr': 'azure', google: 'google' } as const;

/** `datetime-local` value of an ISO instant, in local time. */
function toLocalInput(iso: string | null): string {
  if (iso === null) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** Opens the form; resolves with the saved summary, or undefined when cancelled. */
export async function openIntegrationForm(ctx: ConsoleContext, existing?: IntegrationSummary): Promise<IntegrationSummary | undefined> {
  let saved: IntegrationSummary | undefined;
  await openDialog(existing ? `Edit ${existing.host}` : 'Add integration', (close) => {
    const host = text({ required: true, placeholder: 'ghcr.io' });
    const provider = h('select', {}, ...Object.entries(PROVIDER_NAMES).map(([value, name]) => h('option', { value }, name)));
    const fieldsets = providerFieldsets();
    const exported = h('input', { type: 'checkbox' });
    exported.checked = existing?.export ?? true;
    const description = text({ maxlength: '1000' });
    const expiresAt = h('input', { type: 'datetime-local' });
    const caCert = area(4);
    const error = errorBox();
    description.value = existing?.description ?? '';
    expiresAt.value = toLocalInput(existing?.expiresAt ?? null);
    caCert.value = existing?.caCert ?? '';

    /** Secret fields an edit has asked to replace. */
    const replacing = new Set<IntegrationProvider>();
    const showProvider = () => {
      for (const [name, set] of Object.entries(fieldsets) as Array<[IntegrationProvider, ProviderFields]>) {
        set.fieldset.hidden = set.fieldset.disabled = name !== provider.value;
      }
    };

    if (existing) {
      provider.value = existing.provider;
      provider.disabled = true;
      const current = fieldsets[existing.provider];
      if (existing.provider === 'static') {
        const username = current.controls['username']!;
        username.value = existing.username;
        // The secret is write-only: "set", and a Replace action that reveals an empty field.
        writeOnly(current.secrets, 'Secret', () => replacing.add('static'));
      } else {
        for (const [key, value] of Object.entries(existing.identity ?? {})) {
          const control = current.controls[key];
          if (control) control.value = String(value);
        }
        writeOnly(Object.values(current.controls), 'Identity', () => replacing.add(existing.provider));
      }
    }
    provider.addEventListener('change', showProvider);
    showProvider();

    const body = (): CreateIntegrationBody | UpdateIntegrationBody | undefined => {
      const settings = {
        description: description.value.trim(),
        expiresAt: expiresAt.value ? new Date(expiresAt.value).toISOString() : '',
        caCert: caCert.value.trim(),
      };
      const chosen = provider.value as IntegrationProvider;
      const identity = fieldsets[chosen].read();
      if (!existing) {
        const common = {
          host: host.value.trim(),
          export: exported.checked,
          ...(settings.description ? { description: settings.description } : {}),
          ...(settings.expiresAt ? { expiresAt: settings.expiresAt } : {}),
          ...(settings.caCert ? { caCert: settings.caCert } : {}),
        };
        return (chosen === 'static' ? { provider: chosen, ...common, ...identity } : { provider: chosen, ...common, [IDENTITY_KEY[chosen]]: identity }) as CreateIntegrationBody;
      }
      const update: Record<string, unknown> = {};
      if (chosen === 'static') {
        if (identity['username'] !== existing.username) update['username'] = identity['username'];
        if (replacing.has('static')) update['secret'] = identity['secret'];
      } else if (replacing.has(chosen)) {
        update[IDENTITY_KEY[chosen]] = identity;
      }
      if (exported.checked !== existing.export) update['export'] = exported.checked;
      if (settings.description !== (existing.description ?? '')) update['description'] = settings.description || null;
      if (expiresAt.value !== toLocalInput(existing.expiresAt)) update['expiresAt'] = settings.expiresAt || null;
      if (settings.caCert !== (existing.caCert ?? '').trim()) update['caCert'] = settings.caCert || null;
      return Object.keys(update).length ? (update as UpdateIntegrationBody) : undefined;
    };

    const submit = async (event: Event) => {
      event.preventDefault();
      error.clear();
      const request = body();
      if (request === undefined) return close();
      try {
        saved = existing
          ? await ctx.api.updateIntegration(existing.id, request as UpdateIntegrationBody)
          : await ctx.api.createIntegration(request as CreateIntegrationBody);
        close();
      } catch (failure) {
        error.show(`Not saved: ${describeFailure(failure)}`);
      }
    };

    return h(
      'form',
      { novalidate: false, onsubmit: (event: Event) => void submit(event) },
      existing ? h('p', { class: 'fixed' }, h('strong', {}, 'Host: '), existing.host) : field('Host', host, hostHint(ctx)),
      field('Provider', provider, existing ? 'The provider of an integration does not change.' : undefined),
      ...Object.values(fieldsets).map((set) => set.fieldset),
      field('Export credentials', exported, 'Serve this credential to helpers. Unticked, it stays stored but lookups answer not found.'),
      field('Description', description),
      field('Expires', expiresAt, 'When the credential or identity stops working (a PAT’s end date); shown with a warning a week ahead.'),
      field('CA certificate (PEM)', caCert, 'Trusted besides the system CAs when testing this registry over TLS.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), h('button', { type: 'button', onclick: close }, 'Cancel')),
    );
  });
  return saved;
}

/** The host hint: a host-limited token may only add its own hosts. */
function hostHint(ctx: ConsoleContext): string {
  return ctx.me.hosts === null ? 'As clients write it: ghcr.io, registry.example.com:5000, https://index.docker.io/v1/.' : `One of: ${ctx.me.hosts.join(', ')}.`;
}

/**
 * Hides write-only controls behind "<what>: set" and a Replace button; Replace shows them empty (or,
 * for an identity, with its non-secret fields) and required.
 */
function writeOnly(controls: Control[], what: string, onReplace: () => void): void {
  const wrappers = controls.map((control) => control.closest('.field') as HTMLElement);
  const secrets = controls.filter((control) => control.type === 'password' || control instanceof HTMLTextAreaElement);
  for (const control of secrets) control.value = '';
  const fieldset = wrappers[0]!.parentElement!;
  for (const wrapper of wrappers) wrapper.hidden = true;
  for (const control of controls) control.disabled = true;
  const replace = h('button', { type: 'button' }, 'Replace', h('span', { class: 'visually-hidden' }, ` ${what.toLowerCase()}`));
  const status = h('p', { class: 'write-only' }, h('strong', {}, `${what}: `), 'set ', replace);
  replace.addEventListener('click', () => {
    status.remove();
    for (const wrapper of wrappers) wrapper.hidden = false;
    for (const control of controls) control.disabled = false;
    onReplace();
    controls[0]!.focus();
  });
  fieldset.insertBefore(status, wrappers[0]!);
}
