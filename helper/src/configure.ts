/**
 * `configure` / `unconfigure`: the pure part. Each function takes a parsed config (or the text of an
 * OpenTofu CLI config) and the hosts to configure, and returns the new config plus what changed and
 * what to warn about. Nothing here reads or writes files, and nothing here ever handles a secret:
 * only `credHelpers` entries and `oci_credentials` blocks naming the helper are written.
 */
import { InvalidRegistryHostError, containersKey, dockerCliKey, parseServerUrl, type ParsedServerUrl } from '@dcs/shared/registry-host';
import type { CredentialList } from './credential-backend.js';

/** The suffix clients append to `docker-credential-`: the value of every entry configure writes. */
export const HELPER_SUFFIX = 'scalr';

/** A JSON object as read from a Docker-style config file. */
export type JsonObject = { [key: string]: unknown };

/** Which Docker-style file: the Docker CLI's config.json or containers' auth.json (podman, skopeo, buildah). */
export type JsonConfigKind = 'docker' | 'containers';

/** A config file cannot be updated safely (bad JSON, a field of the wrong type, a broken managed section). */
export class ConfigureError extends Error {
  override readonly name = 'ConfigureError';
}

/** Turns the daemon's list (Docker-CLI keys) into canonical hosts, sorted and without duplicates; keys with a path are skipped. */
export function hostsFromCredentialList(list: CredentialList): string[] {
  const hosts = new Set<string>();
  for (const key of Object.keys(list)) {
    try {
      const { host, path } = parseServerUrl(key);
      // credHelpers are per host; sub-keys such as Docker Hub's `/v1/access-token` need no entry of their own.
      if (path === '') hosts.add(host);
    } catch (error) {
      if (!(error instanceof InvalidRegistryHostError)) throw error;
    }
  }
  return [...hosts].sort();
}

/**
 * Returns the `credHelpers` keys a kind of file needs for the hosts. Docker Hub is `docker.io` for
 * containers' auth.json; the Docker config gets both `https://index.docker.io/v1/` (the docker CLI's
 * key) and `docker.io`, because podman, skopeo, go-containerregistry and OpenTofu read that file too
 * and look Hub up as `docker.io` (protocol.md §5 pitfall 12). The extra key changes nothing for docker.
 */
export function credHelperKeys(kind: JsonConfigKind, hosts: readonly string[]): string[] {
  return hosts.flatMap((host) => {
    if (kind === 'containers') return [containersKey(host)];
    const key = dockerCliKey(host);
    return key === host ? [key] : [key, containersKey(host)];
  });
}

/** Parses a Docker-style JSON config; a missing or blank file is `{}`; throws ConfigureError for anything but an object. */
export function parseJsonConfig(text: string | undefined, label: string): JsonObject {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new ConfigureError(`${label} is not valid JSON; fix it or move it away, then run again (nothing was written)`);
  }
  if (!isRecord(parsed)) throw new ConfigureError(`${label} does not hold a JSON object (nothing was written)`);
  return parsed;
}

/** Serialises a config with the indentation the file already used (a tab, as the Docker CLI writes, when new). */
export function formatJsonConfig(document: JsonObject, previousText: string | undefined): string {
  const indent = /\n([ \t]+)"/.exec(previousText ?? '')?.[1] ?? '\t';
  return `${JSON.stringify(document, null, indent)}\n`;
}

/** What a configure or unconfigure step did to one file. */
export interface ConfigChange<T> {
  /** The new document (or text); the input is never modified. */
  readonly result: T;
  /** Keys (or hosts) that now name the helper and did not before. */
  readonly added: readonly string[];
  /** Keys (or hosts) that already named the helper. */
  readonly unchanged: readonly string[];
  /** Keys that named another helper and now name this one. */
  readonly replaced: readonly { readonly key: string; readonly previous: string }[];
  /** Keys (or hosts) that were removed. */
  readonly removed: readonly string[];
  /** Hosts left alone, with the reason in `warnings`. */
  readonly skipped: readonly string[];
  readonly warnings: readonly string[];
  readonly changed: boolean;
}

/** Sets `credHelpers[key] = "scalr"` for every key, keeping every other key of the document as it was. */
export function addCredHelpers(document: JsonObject, keys: readonly string[], label: string): ConfigChange<JsonObject> {
  const current = readCredHelpers(document, label);
  const helpers: JsonObject = { ...current };
  const added: string[] = [];
  const unchanged: string[] = [];
  const replaced: { key: string; previous: string }[] = [];
  const warnings: string[] = [];
  for (const key of keys) {
    const previous = helpers[key];
    if (previous === HELPER_SUFFIX) {
      unchanged.push(key);
      continue;
    }
    if (typeof previous === 'string' && previous !== '') {
      replaced.push({ key, previous });
      warnings.push(`${label}: credHelpers["${key}"] named helper "${previous}"; it now names "${HELPER_SUFFIX}"`);
    } else {
      added.push(key);
    }
    helpers[key] = HELPER_SUFFIX;
  }
  const changed = added.length > 0 || replaced.length > 0;
  return {
    result: changed ? { ...document, credHelpers: helpers } : document,
    added,
    unchanged,
    replaced,
    removed: [],
    skipped: [],
    warnings,
    changed,
  };
}

/** Removes every `credHelpers` entry (and a `credsStore`) whose value is "scalr"; other helpers' entries stay. */
export function removeCredHelpers(document: JsonObject, label: string): ConfigChange<JsonObject> {
  const current = readCredHelpers(document, label);
  const result: JsonObject = { ...document };
  const removed: string[] = [];
  const helpers: JsonObject = {};
  for (const [key, value] of Object.entries(current)) {
    if (value === HELPER_SUFFIX) removed.push(key);
    else helpers[key] = value;
  }
  if (removed.length > 0) {
    if (Object.keys(helpers).length > 0) result['credHelpers'] = helpers;
    else delete result['credHelpers'];
  }
  if (result['credsStore'] === HELPER_SUFFIX) {
    delete result['credsStore'];
    removed.push('credsStore');
  }
  const changed = removed.length > 0;
  return { result: changed ? result : document, added: [], unchanged: [], replaced: [], removed, skipped: [], warnings: [], changed };
}

const SECRET_FIELDS = ['auth', 'password', 'identitytoken', 'registrytoken'] as const;

/** A plaintext `auths` entry: its key as written, the entry, and the registry it names. */
export interface PlaintextAuth {
  readonly key: string;
  readonly entry: JsonObject;
  readonly parsed: ParsedServerUrl;
}

/** The `auths` entries of a Docker-style config that hold a secret (empty markers `{}` do not); keys that name no registry are skipped. */
export function plaintextAuths(document: JsonObject): PlaintextAuth[] {
  const auths = document['auths'];
  if (!isRecord(auths)) return [];
  const found: PlaintextAuth[] = [];
  for (const [key, entry] of Object.entries(auths)) {
    if (!isRecord(entry) || !SECRET_FIELDS.some((field) => typeof entry[field] === 'string' && entry[field] !== '')) continue;
    try {
      found.push({ key, entry, parsed: parseServerUrl(key) });
    } catch {
      continue;
    }
  }
  return found;
}

/**
 * Warns about `auths` entries that hold a plaintext credential for a configured host. The Docker CLI
 * and containers' tools ask the helper instead, but OpenTofu prefers a non-empty `auths[host].auth` over
 * `credHelpers` (protocol.md §4.5) unless an `oci_credentials` block (configure --tofu) names the helper;
 * an entry with a repository path beats even that. Empty markers (`{}`, which `docker login` writes when a
 * helper is in use) are skipped by every client and are not reported.
 */
export function plaintextAuthWarnings(
  document: JsonObject,
  hosts: readonly string[],
  options: { readonly label: string; readonly kind: JsonConfigKind; readonly tofuConfigured: boolean },
): string[] {
  const wanted = new Set(hosts);
  const warnings: string[] = [];
  for (const { key, entry, parsed } of plaintextAuths(document)) {
    if (!wanted.has(parsed.host)) continue;
    // OpenTofu matches auths keys without a scheme and reads only the base64 `auth` field.
    const tofuReads = typeof entry['auth'] === 'string' && entry['auth'] !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(key);
    const tofuUses = tofuReads && (parsed.path !== '' || !options.tofuConfigured);
    const shadowedBy = options.kind === 'docker' ? 'the docker CLI asks the helper instead' : 'podman, skopeo and buildah ask the helper first';
    const effect = tofuUses
      ? parsed.path === ''
        ? `OpenTofu uses it instead of credHelpers (configure --tofu adds an oci_credentials block that takes precedence)`
        : `OpenTofu uses it instead of the helper for repositories under ${parsed.path.slice(1)}`
      : `${shadowedBy}, but the secret stays readable on disk`;
    warnings.push(
      `${options.label}: auths["${key}"] holds a plaintext credential for ${parsed.host}; ${effect}. ` +
        'Delete that entry by hand (docker logout would also erase the credential in scalr-credd)',
    );
  }
  return warnings;
}

/** configure or unconfigure of one file: what to do, the file's label for messages, and whether --tofu is in use. */
export interface PlanOptions {
  readonly configuring: boolean;
  readonly label: string;
  readonly tofuConfigured: boolean;
}

/** Plans configure or unconfigure of one Docker-style file: the change (its warnings include plaintext `auths`) and the text to write. */
export function planJsonConfig(
  kind: JsonConfigKind,
  previousText: string | undefined,
  hosts: readonly string[],
  options: PlanOptions,
): { change: ConfigChange<JsonObject>; text: string } {
  const document = parseJsonConfig(previousText, options.label);
  if (!options.configuring) {
    const change = removeCredHelpers(document, options.label);
    return { change, text: formatJsonConfig(change.result, previousText) };
  }
  const added = addCredHelpers(document, credHelperKeys(kind, hosts), options.label);
  const change = { ...added, warnings: [...plaintextAuthWarnings(document, hosts, { ...options, kind }), ...added.warnings] };
  return { change, text: formatJsonConfig(change.result, previousText) };
}

/** Plans configure or unconfigure of an OpenTofu CLI config. */
export function planTofuConfig(previousText: string | undefined, hosts: readonly string[], options: PlanOptions): ConfigChange<string> {
  return options.configuring ? addTofuBlocks(previousText, hosts, options.label) : removeTofuBlocks(previousText, options.label);
}

/** The first line of the section of an OpenTofu CLI config that configure owns. */
export const TOFU_SECTION_BEGIN = '# BEGIN docker-credential-scalr (written by `docker-credential-scalr configure`; `unconfigure` removes it)';
/** The last line of that section. */
export const TOFU_SECTION_END = '# END docker-credential-scalr';

const BLOCK_LABEL = /^[ \t]*oci_credentials[ \t]+"([^"]*)"/gm;

/**
 * Adds one `oci_credentials "<host>" { docker_credentials_helper = "scalr" }` block per host to the
 * managed section of an OpenTofu CLI config, keeping everything outside the section byte for byte.
 * Hosts that already have a block outside the section are left alone (OpenTofu allows one per label).
 */
export function addTofuBlocks(text: string | undefined, hosts: readonly string[], label: string): ConfigChange<string> {
  const original = text ?? '';
  const { before, managed, after } = splitTofuSection(original, label);
  const outside = blockLabels(before + after);
  const added: string[] = [];
  const unchanged: string[] = [];
  const skipped: string[] = [];
  const warnings: string[] = [];
  for (const host of hosts) {
    if (outside.has(host)) {
      skipped.push(host);
      warnings.push(`${label} already has an oci_credentials block for "${host}" outside the managed section; left as is`);
    } else if (managed.has(host)) {
      unchanged.push(host);
    } else {
      added.push(host);
    }
  }
  const keep = [...managed, ...added].filter((host) => !outside.has(host)).sort();
  const section = renderTofuSection(keep);
  let result: string;
  if (managed.size > 0 || original.includes(TOFU_SECTION_BEGIN)) {
    result = before + section + after;
  } else if (section === '') {
    result = original;
  } else {
    // One blank line before the section, which removeTofuBlocks takes away again.
    const separator = original === '' ? '' : original.endsWith('\n') ? '\n' : '\n\n';
    result = original + separator + section;
  }
  return { result, added, unchanged, replaced: [], removed: [], skipped, warnings, changed: result !== original };
}

/** Removes the managed section of an OpenTofu CLI config; blocks written by hand stay. */
export function removeTofuBlocks(text: string | undefined, label: string): ConfigChange<string> {
  const original = text ?? '';
  const { before, managed, after } = splitTofuSection(original, label);
  if (!original.includes(TOFU_SECTION_BEGIN)) {
    return { result: original, added: [], unchanged: [], replaced: [], removed: [], skipped: [], warnings: [], changed: false };
  }
  // Drop the blank line configure put in front of the section.
  const result = (after === '' ? before.replace(/\n\n$/, '\n') : before) + after;
  return { result, added: [], unchanged: [], replaced: [], removed: [...managed].sort(), skipped: [], warnings: [], changed: result !== original };
}

function renderTofuSection(hosts: readonly string[]): string {
  if (hosts.length === 0) return '';
  const blocks = hosts.map((host) => `oci_credentials "${host}" {\n  docker_credentials_helper = "${HELPER_SUFFIX}"\n}\n`);
  return `${TOFU_SECTION_BEGIN}\n${blocks.join('')}${TOFU_SECTION_END}\n`;
}

function splitTofuSection(text: string, label: string): { before: string; managed: Set<string>; after: string } {
  const begin = text.indexOf(TOFU_SECTION_BEGIN);
  if (begin < 0) return { before: text, managed: new Set(), after: '' };
  if (begin > 0 && text[begin - 1] !== '\n') throw new ConfigureError(`${label}: the managed section does not start on its own line`);
  const endLine = text.indexOf(`\n${TOFU_SECTION_END}`, begin);
  if (endLine < 0) {
    throw new ConfigureError(`${label} has "${TOFU_SECTION_BEGIN.slice(0, 31)}" but no "${TOFU_SECTION_END}" line; fix the file by hand`);
  }
  const endOfSection = text.indexOf('\n', endLine + 1 + TOFU_SECTION_END.length);
  const sectionEnd = endOfSection < 0 ? text.length : endOfSection + 1;
  return {
    before: text.slice(0, begin),
    managed: blockLabels(text.slice(begin, sectionEnd)),
    after: text.slice(sectionEnd),
  };
}

function blockLabels(text: string): Set<string> {
  return new Set([...text.matchAll(BLOCK_LABEL)].map((match) => match[1]!));
}

function readCredHelpers(document: JsonObject, label: string): JsonObject {
  const helpers = document['credHelpers'];
  if (helpers === undefined || helpers === null) return {};
  if (!isRecord(helpers)) throw new ConfigureError(`${label}: "credHelpers" is not a JSON object (nothing was written)`);
  return helpers;
}

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
