import { dnsSuffixForRegion, resolveAwsEndpoint } from './aws-endpoints.js';
import { MintError } from './mint-error.js';
import { isSuccess, refusedError, sendStep, type ProviderDeps } from './provider-common.js';
import { signSigV4, type AwsCredentials } from './sigv4.js';

/** The STS AssumeRole call (Query API, form-encoded, XML answer) that turns an access key into a role session. */

/** What to assume, with the caller's long-lived key. */
export interface AssumeRoleInput {
  credentials: AwsCredentials;
  roleArn: string;
  externalId?: string;
  /** 900–43200; the role's maximum session duration still applies. */
  durationSeconds: number;
  /** Signing region and the region of the regional STS endpoint. */
  region: string;
}

/** A role session: temporary credentials and when they end (epoch ms). */
export interface AssumedRole {
  credentials: Required<AwsCredentials>;
  expiresAt: number;
}

const STEP = 'STS AssumeRole';

/** Assumes the role through the regional STS endpoint (or `AWS_ENDPOINT_URL_STS`). */
export async function assumeRole(input: AssumeRoleInput, deps: ProviderDeps): Promise<AssumedRole> {
  const url = resolveAwsEndpoint('STS', `https://sts.${input.region}.${dnsSuffixForRegion(input.region)}/`, deps.env);
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: input.roleArn,
    RoleSessionName: `scalr-credd-${Math.floor(deps.nowMs() / 1000)}`,
    DurationSeconds: String(input.durationSeconds),
  };
  if (input.externalId) form['ExternalId'] = input.externalId;
  const body = new URLSearchParams(form).toString();
  const headers = signSigV4(
    { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body },
    input.credentials,
    { region: input.region, service: 'sts' },
    new Date(deps.nowMs()),
  );

  const response = await sendStep('aws-ecr', STEP, deps, { method: 'POST', url, headers, body });
  const xml = response.body.toString('utf8');
  if (!isSuccess(response.status)) {
    throw refusedError('aws-ecr', STEP, xmlElementText(xml, 'Code'), response.status);
  }
  const session = parseAssumeRoleResponse(xml);
  if (!session) throw new MintError('aws-ecr', 'malformed_response', `${STEP}: the answer has no complete Credentials element`, response.status);
  return session;
}

/** Reads the credentials of an AssumeRole answer; undefined when any part is missing or the date is bad. */
export function parseAssumeRoleResponse(xml: string): AssumedRole | undefined {
  const section = xmlElementText(xml, 'Credentials', false);
  if (section === undefined) return undefined;
  const accessKeyId = xmlElementText(section, 'AccessKeyId');
  const secretAccessKey = xmlElementText(section, 'SecretAccessKey');
  const sessionToken = xmlElementText(section, 'SessionToken');
  const expiration = xmlElementText(section, 'Expiration');
  const expiresAt = expiration ? Date.parse(expiration) : Number.NaN;
  if (!accessKeyId || !secretAccessKey || !sessionToken || !Number.isFinite(expiresAt)) return undefined;
  return { credentials: { accessKeyId, secretAccessKey, sessionToken }, expiresAt };
}

/**
 * The content of the first `<tag>` element (attributes allowed, no namespace prefix), entities decoded
 * unless `decode` is false. Linear in the input: each search starts where the previous one ended.
 */
export function xmlElementText(xml: string, tag: string, decode = true): string | undefined {
  let cursor = 0;
  for (;;) {
    const start = xml.indexOf(`<${tag}`, cursor);
    if (start === -1) return undefined;
    const after = start + tag.length + 1;
    const next = xml.charAt(after);
    if (next !== '>' && next !== ' ' && next !== '\t' && next !== '\n' && next !== '\r' && next !== '/') {
      cursor = after;
      continue;
    }
    const openEnd = xml.indexOf('>', after);
    if (openEnd === -1) return undefined;
    if (xml.charAt(openEnd - 1) === '/') return '';
    const close = xml.indexOf(`</${tag}>`, openEnd + 1);
    if (close === -1) return undefined;
    const text = xml.slice(openEnd + 1, close);
    return decode ? decodeXmlEntities(text).trim() : text;
  }
}

function decodeXmlEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, entity: string) => {
    switch (entity) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const point = entity[1] === 'x' ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
        return point <= 0x10ffff ? String.fromCodePoint(point) : '';
      }
    }
  });
}
