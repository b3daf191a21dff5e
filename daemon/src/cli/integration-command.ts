import type { IntegrationSummary, IntegrationTestReport } from '@dcs/shared';
import { HttpClientError } from '@dcs/shared/http-client';
import { z } from 'zod';
import {
  AdminError,
  connectAdmin,
  readTextFile,
  type AdminClient,
  type CloudIdentityFields,
  type ConnectAdmin,
  type IntegrationChanges,
  type ReadTextFile,
} from './admin-client.js';
import { CONNECTION_HELP, hostArgument, parseAdminArgs, printResult, runAdminCommand, withAdminClient, type AdminVerbs } from './admin-verb.js';
import { UsageError, type CliIo } from './io.js';
import { formatFields, formatTable, printable } from './output.js';

const SECRET_HELP = `The secret (password or personal access token) is read from stdin when it is piped, or
prompted for without echo when stdin is a terminal; one trailing newline is dropped. It is never
taken from a command-line argument, where it would land in shell history and the process list.`;

const IDENTITY_HELP = `A cloud provider integration (--provider) stores an identity instead, from which the daemon
mints short-lived registry credentials on each lookup (docs/cloud-registries.md). The identity is
a JSON object read from stdin or from --identity-file FILE, never from an argument:
  aws-ecr     {"accessKeyId": "...", "secretAccessKey": "...", "region"?: "...", "roleArn"?: "...",
               "externalId"?: "...", "sessionDurationSeconds"?: 3600}
  azure-acr   {"tenantId": "...", "clientId": "...", "clientSecret": "..."}
  google      the service account's JSON key file itself (or {"serviceAccountKey": "<the key as text>"})`;

/** Help text of `scalr-credd integration`. */
export const INTEGRATION_HELP = `Usage: scalr-credd integration <verb> [options]

Manages the registry credentials the daemon serves (needs an admin or manager token).

  add --host HOST --username USER [--no-export] [--description TEXT] [--expires-at ISO] [--ca-cert FILE]
                     store a credential for a registry host; the secret comes from stdin
  add --host HOST --provider aws-ecr|azure-acr|google [--identity-file FILE] [...]
                     store a cloud identity; credentials are minted from it on each lookup
  list               list integrations (never their secrets)
  show ID|HOST       show one integration, with its expiry and last test
  update ID|HOST [--username USER] [--secret-stdin] [--identity-stdin|--identity-file FILE]
                 [--export|--no-export] [--description TEXT] [--expires-at ISO|none] [--ca-cert FILE|none]
                     change an integration; the host and the provider never change
  test ID|HOST       check the stored credential against its registry; exit 0 only when it is accepted
  rm ID|HOST         remove an integration

${SECRET_HELP}

${IDENTITY_HELP}

${CONNECTION_HELP}
Examples:
  printf '%s' "$REGISTRY_PAT" | scalr-credd integration add --host ghcr.io --username my-user
  scalr-credd integration add --provider google --host gcr.io --identity-file puller-key.json

Run 'scalr-credd integration <verb> --help' for a verb's options.
`;

const VERB_HELP: Record<string, string> = {
  add: `Usage: scalr-credd integration add --host HOST --username USER [--no-export] [--description TEXT]
         [--expires-at ISO] [--ca-cert FILE] [--json]
       scalr-credd integration add --host HOST --provider aws-ecr|azure-acr|google [--identity-file FILE]
         [--no-export] [--description TEXT] [--expires-at ISO] [--ca-cert FILE] [--json]

Stores a credential for a registry host (any form a client uses: ghcr.io, https://ghcr.io/,
host:5000). A host has one integration; use 'update' to change it.

  --host HOST          the registry host
  --username USER      the registry username (docker's <token> marker is kept as is)
  --no-export          keep it out of the helper's lookups (admin use only)
  --description TEXT   a note for people
  --expires-at ISO     when the registry credential (e.g. a PAT) expires: ISO-8601 with Z or an
                       offset; lookups warn in the week before it and are refused after it
  --ca-cert FILE       a PEM file of CA certificate(s) trusted, besides the system CAs, when
                       testing this registry over TLS (the CLI reads it and sends the text)
  --provider NAME      aws-ecr, azure-acr or google: store a cloud identity instead of a secret
                       (no --username; the provider sets it)
  --identity-file FILE read the identity from FILE instead of stdin

${SECRET_HELP}

${IDENTITY_HELP}

${CONNECTION_HELP}`,
  list: `Usage: scalr-credd integration list [--json]

Lists integrations: id, host, username, export flag, expiry, last update and description; never
secrets.
With --json prints {"integrations": [...]} as the API answers it.

${CONNECTION_HELP}`,
  show: `Usage: scalr-credd integration show ID|HOST [--json]

Shows one integration, named by its id (int_...) or its registry host: its expiry, whether it has
a CA certificate, and the outcome of its last test; never its secret.

${CONNECTION_HELP}`,
  update: `Usage: scalr-credd integration update ID|HOST [--username USER] [--secret-stdin]
         [--identity-stdin|--identity-file FILE] [--export|--no-export]
         [--description TEXT] [--expires-at ISO|none] [--ca-cert FILE|none] [--json]

Changes an integration named by its id (int_...) or its registry host. The host and the provider
never change (remove the integration and add a new one instead).

  --username USER      a new username
  --secret-stdin       replace the secret, read from stdin (or prompted for on a terminal)
  --identity-stdin     replace the cloud identity of a provider integration, read from stdin
  --identity-file FILE replace the cloud identity, read from FILE
  --export             serve it to the helper again
  --no-export          keep it out of the helper's lookups
  --description TEXT   a new note; --description '' clears it
  --expires-at ISO     a new expiry of the registry credential (ISO-8601 with Z or an offset);
                       --expires-at none clears it
  --ca-cert FILE       a new PEM file of CA certificate(s) for testing the registry over TLS;
                       --ca-cert none removes it (./none names a file called none)

${SECRET_HELP}

${IDENTITY_HELP}

${CONNECTION_HELP}`,
  test: `Usage: scalr-credd integration test ID|HOST [--json]

Checks the stored credential of an integration, named by its id (int_...) or its registry host,
against its registry the way 'docker login' does (GET /v2/ and the registry's token service). For a
cloud provider integration the daemon first mints a fresh credential from the identity (a refused
identity is unauthorized). The daemon makes the requests and records the outcome on the integration
('show' displays it).

Prints the result, one of ok, unauthorized (the registry refused the credential), unreachable
(no connection, DNS or TLS failure) or error, and a short detail. Exits 0 when the result is ok,
1 otherwise (also when the daemon could not be asked).

${CONNECTION_HELP}`,
  rm: `Usage: scalr-credd integration rm ID|HOST [--json]

Removes an integration, named by its id (int_...) or its registry host, and its secret.

${CONNECTION_HELP}`,
};

const INTEGRATION_ID = /^int_[0-9a-f]{16}$/;

/**
 * Runs `scalr-credd integration <verb>`; `connect` builds the API client and `readFile` reads the
 * --ca-cert file (fakes in tests).
 */
export function runIntegrationCommand(
  args: string[],
  io: CliIo,
  connect: ConnectAdmin = connectAdmin,
  readFile: ReadTextFile = readTextFile,
): Promise<number> {
  return runAdminCommand(args, io, { command: INTEGRATION_HELP, verbs: VERB_HELP }, VERBS, connect, readFile);
}

const VERBS: AdminVerbs<[readFile: ReadTextFile]> = {
  async add(args, io, connect, readFile) {
    const { values } = parseAdminArgs(args, 0, {
      host: { type: 'string' },
      username: { type: 'string' },
      'no-export': { type: 'boolean' },
      description: { type: 'string' },
      'expires-at': { type: 'string' },
      'ca-cert': { type: 'string' },
      provider: { type: 'string' },
      'identity-file': { type: 'string' },
    });
    if (values.host === undefined) throw new UsageError('--host is required');
    const provider = values.provider === undefined || values.provider === 'static' ? undefined : providerArgument(values.provider);
    if (provider && values.username !== undefined) throw new UsageError(`--username does not go with --provider ${provider}: the provider sets it`);
    if (!provider && values['identity-file'] !== undefined) throw new UsageError('--identity-file goes with --provider');
    if (!provider && values.username === undefined) throw new UsageError('--username is required');
    const host = hostOrIdArgument(values.host);
    // Checked before the secret is asked for.
    const expiresAt = values['expires-at'] === undefined ? undefined : expiresAtArgument(values['expires-at']);
    const caCert = values['ca-cert'] === undefined ? undefined : caCertArgument(values['ca-cert'], readFile);
    return withAdminClient(values, io, connect, async (client) => {
      const credential = provider
        ? await readIdentity(io, provider, values['identity-file'], readFile)
        : { username: values.username!, secret: await readSecret(io, host, 'integration add') };
      const created = await suggestUpdateOnConflict(host, client.createIntegration({
        host,
        ...credential,
        export: !values['no-export'],
        ...(values.description === undefined ? {} : { description: values.description }),
        ...(expiresAt === undefined ? {} : { expiresAt }),
        ...(caCert === undefined ? {} : { caCert }),
      }));
      return printResult(io, values, created, () => `added integration ${created.id} for ${created.host}\n${describe(created)}`);
    });
  },

  async list(args, io, connect) {
    const { values } = parseAdminArgs(args, 0);
    return withAdminClient(values, io, connect, async (client) => {
      const integrations = await client.listIntegrations();
      return printResult(io, values, { integrations }, () => {
        const rows = integrations.map((i) => [i.id, i.host, i.username, i.export ? 'yes' : 'no', i.expiresAt ?? '-', i.updatedAt, i.description ?? '']);
        return formatTable(['ID', 'HOST', 'USERNAME', 'EXPORT', 'EXPIRES', 'UPDATED', 'DESCRIPTION'], rows, 'no integrations');
      });
    });
  },

  async show(args, io, connect) {
    const { values, positionals } = parseAdminArgs(args, 1);
    const ref = referenceArgument(positionals, 'show');
    return withAdminClient(values, io, connect, async (client) => {
      const integration = 'host' in ref ? await findByHost(client, ref.host) : await client.getIntegration(ref.id);
      return printResult(io, values, integration, () => describe(integration));
    });
  },

  async update(args, io, connect, readFile) {
    const { values, positionals } = parseAdminArgs(args, 1, {
      username: { type: 'string' },
      'secret-stdin': { type: 'boolean' },
      'identity-stdin': { type: 'boolean' },
      'identity-file': { type: 'string' },
      export: { type: 'boolean' },
      'no-export': { type: 'boolean' },
      description: { type: 'string' },
      'expires-at': { type: 'string' },
      'ca-cert': { type: 'string' },
    });
    const ref = referenceArgument(positionals, 'update');
    if (values.export && values['no-export']) throw new UsageError('give --export or --no-export, not both');
    const changes: IntegrationChanges = {};
    if (values.username !== undefined) changes.username = values.username;
    if (values.export) changes.export = true;
    if (values['no-export']) changes.export = false;
    if (values.description !== undefined) changes.description = values.description === '' ? null : values.description;
    const expiresAt = values['expires-at'];
    if (expiresAt !== undefined) changes.expiresAt = expiresAt === 'none' ? null : expiresAtArgument(expiresAt, 'none');
    const caCert = values['ca-cert'];
    if (caCert !== undefined) changes.caCert = caCert === 'none' ? null : caCertArgument(caCert, readFile);
    const identitySources = [values['secret-stdin'], values['identity-stdin'], values['identity-file'] !== undefined].filter(Boolean).length;
    if (identitySources > 1) throw new UsageError('give one of --secret-stdin, --identity-stdin and --identity-file');
    if (Object.keys(changes).length === 0 && identitySources === 0) {
      throw new UsageError(
        'nothing to change; give --username, --secret-stdin, --identity-stdin, --identity-file, --export, --no-export, --description, --expires-at or --ca-cert',
      );
    }
    return withAdminClient(values, io, connect, async (client) => {
      const current = 'host' in ref ? await findByHost(client, ref.host) : undefined;
      const id = current?.id ?? ('id' in ref ? ref.id : '');
      if (values['secret-stdin']) changes.secret = await readSecret(io, 'host' in ref ? ref.host : id, 'integration update ID|HOST --secret-stdin');
      if (values['identity-stdin'] || values['identity-file'] !== undefined) {
        const { provider } = current ?? (await client.getIntegration(id));
        if (provider === 'static') throw new UsageError(`integration ${id} stores a static credential; replace it with --secret-stdin`);
        const { provider: _provider, ...identity } = await readIdentity(io, provider, values['identity-file'], readFile);
        Object.assign(changes, identity);
      }
      const updated = await client.updateIntegration(id, changes);
      return printResult(io, values, updated, () => `updated integration ${updated.id} for ${updated.host}\n${describe(updated)}`);
    });
  },

  async test(args, io, connect) {
    const { values, positionals } = parseAdminArgs(args, 1);
    const ref = referenceArgument(positionals, 'test');
    return withAdminClient(values, io, connect, async (client) => {
      const report = await client.testIntegration(await idOf(client, ref));
      printResult(io, values, report, () => describeTest(report));
      return report.result === 'ok' ? 0 : 1;
    });
  },

  async rm(args, io, connect) {
    const { values, positionals } = parseAdminArgs(args, 1);
    const ref = referenceArgument(positionals, 'rm');
    return withAdminClient(values, io, connect, async (client) => {
      const target = 'host' in ref ? await findByHost(client, ref.host) : undefined;
      const id = target?.id ?? ('id' in ref ? ref.id : '');
      await client.removeIntegration(id);
      return printResult(io, values, { id, removed: true }, () => `removed integration ${id}${target ? ` for ${target.host}` : ''}\n`);
    });
  },
};

/** A host that already has an integration (409) is changed with `update`: say so. */
async function suggestUpdateOnConflict<T>(host: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof HttpClientError) || error.code !== 'conflict') throw error;
    throw new AdminError(
      `${error.serverMessage ?? `host ${host} already has an integration`}; change it with 'scalr-credd integration update ${host}' (--secret-stdin for a new secret)`,
      'conflict',
    );
  }
}

/** The id an ID|HOST argument names (a host is looked up in the listing). */
async function idOf(client: AdminClient, ref: { id: string } | { host: string }): Promise<string> {
  return 'host' in ref ? (await findByHost(client, ref.host)).id : ref.id;
}

/** Turns the ID|HOST argument into an id or a canonical host. */
function referenceArgument(positionals: string[], verb: string): { id: string } | { host: string } {
  const ref = positionals[0];
  if (ref === undefined) throw new UsageError(`give the integration's id or host: scalr-credd integration ${verb} ID|HOST`);
  if (INTEGRATION_ID.test(ref)) return { id: ref };
  return { host: hostOrIdArgument(ref) };
}

const ISO_DATE_TIME = z.iso.datetime({ offset: true });

/** Checks an --expires-at value the way the API does; the daemon stores it as UTC. */
function expiresAtArgument(text: string, alternative?: string): string {
  if (ISO_DATE_TIME.safeParse(text).success) return text;
  const or = alternative === undefined ? '' : ` or ${alternative}`;
  throw new UsageError(`--expires-at takes an ISO-8601 date-time with Z or an offset${or}, e.g. 2026-04-01T00:00:00Z`);
}

/** The API's limit on caCert. */
const MAX_CA_CERT_CHARS = 32 * 1024;

/** Reads the --ca-cert file: PEM text, sent as is (the daemon checks that every certificate parses). */
function caCertArgument(path: string, readFile: ReadTextFile): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read the CA certificate file ${path} given by --ca-cert (${code})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`the file ${path} given by --ca-cert holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  if (text.length > MAX_CA_CERT_CHARS) throw new UsageError(`the file ${path} given by --ca-cert is larger than 32 KiB`);
  return text;
}

function hostOrIdArgument(text: string): string {
  return hostArgument(text, 'not an integration id (int_...) or a registry host');
}

async function findByHost(client: AdminClient, host: string): Promise<IntegrationSummary> {
  const found = (await client.listIntegrations()).find((integration) => integration.host === host);
  // A mistyped id (int_ and something not hex) reads as a host; it names no host anyone meant.
  if (!found) throw new AdminError(`no integration ${host.startsWith('int_') ? host : `for host ${host}`}`, 'not_found');
  return found;
}

const PROVIDERS = ['aws-ecr', 'azure-acr', 'google'] as const;
type ProviderName = (typeof PROVIDERS)[number];

function providerArgument(text: string): ProviderName {
  if ((PROVIDERS as readonly string[]).includes(text)) return text as ProviderName;
  throw new UsageError(`--provider takes static, ${PROVIDERS.join(', ')}`);
}

/** Largest identity accepted (a Google key is about 2.4 KiB). */
const MAX_IDENTITY_CHARS = 64 * 1024;

/**
 * Reads a cloud identity, a JSON object, from --identity-file or a piped stdin (never a terminal: it
 * is not typed). A Google service-account key file is taken as it is. Errors never quote the text.
 */
async function readIdentity(io: CliIo, provider: ProviderName, file: string | undefined, readFile: ReadTextFile): Promise<CloudIdentityFields> {
  const source = file === undefined ? 'stdin' : `the file ${file} given by --identity-file`;
  let text: string;
  if (file !== undefined) {
    try {
      text = readFile(file);
    } catch (error) {
      throw new UsageError(`cannot read ${source} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    if (io.stdinIsTty) throw new UsageError(`pipe the ${provider} identity (a JSON object) to stdin or give --identity-file FILE`);
    text = await io.readStdin();
  }
  if (text.length > MAX_IDENTITY_CHARS) throw new UsageError(`the identity in ${source} is larger than 64 KiB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`the identity in ${source} is not a JSON object; see scalr-credd integration add --help`);
  }
  const identity = parsed as Record<string, unknown>;
  switch (provider) {
    case 'aws-ecr':
      return { provider, aws: identity };
    case 'azure-acr':
      return { provider, azure: identity };
    case 'google':
      return { provider, google: identity['type'] === 'service_account' ? { serviceAccountKey: text.trim() } : identity };
  }
}

/** Reads the secret: the whole of a piped stdin, or a no-echo prompt on a terminal. */
async function readSecret(io: CliIo, label: string, usage: string): Promise<string> {
  const raw = io.stdinIsTty ? await io.promptSecret(`Secret for ${label}: `) : await io.readStdin();
  const secret = raw.replace(/\r?\n$/, '');
  if (secret === '') {
    throw new UsageError(
      io.stdinIsTty
        ? 'the secret is empty'
        : `no secret on stdin; pipe it, e.g. printf '%s' "$REGISTRY_PAT" | scalr-credd ${usage}`,
    );
  }
  return secret;
}

function describe(integration: IntegrationSummary): string {
  return formatFields([
    ['id', integration.id],
    ['host', integration.host],
    ['username', integration.username],
    ...(integration.provider && integration.provider !== 'static'
      ? [['provider', integration.provider] as const, ...Object.entries(integration.identity ?? {}).map(([name, value]) => [name, String(value)] as const)]
      : []),
    ['export', integration.export ? 'yes' : 'no'],
    ['description', integration.description ?? '-'],
    ['expires', integration.expiresAt ?? 'never'],
    ['ca cert', caCertSummary(integration.caCert)],
    ['last test', integration.lastTestResult ? `${integration.lastTestResult} at ${integration.lastTestedAt ?? '?'}` : 'never'],
    ...(integration.lastTestDetail ? [['test detail', integration.lastTestDetail] as const] : []),
    ['created', integration.createdAt],
    ['updated', integration.updatedAt],
  ]);
}

function caCertSummary(caCert: string | null | undefined): string {
  if (!caCert) return 'none (system CAs only)';
  const count = caCert.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  return `${count} certificate${count === 1 ? '' : 's'}, trusted besides the system CAs`;
}

/** Text output of `integration test`. */
function describeTest(report: IntegrationTestReport): string {
  return `${printable(report.result)}: integration ${printable(report.id)} for ${printable(report.host)}\n${formatFields([
    ['detail', report.detail],
    ['tested', report.testedAt],
  ])}`;
}
