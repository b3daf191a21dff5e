import { dnsSuffixForRegion, isRegionName, resolveAwsEndpoint } from './aws-endpoints.js';
import { assumeRole } from './aws-sts.js';
import { MintError } from './mint-error.js';
import { isSuccess, parseJsonObject, refusedError, sendStep, type MintedCredential, type ProviderDeps } from './provider-common.js';
import { signSigV4, type AwsCredentials } from './sigv4.js';

/**
 * Amazon ECR (and ECR Public): an access key, optionally turned into a role session through STS
 * AssumeRole, signs one GetAuthorizationToken call; the token decodes to `AWS:<password>`.
 */

/** The AWS identity an `aws-ecr` integration stores. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** Overrides the region parsed from the host; required for a host that is not an ECR host name. */
  region?: string;
  /** Assumed through STS AssumeRole before the token is requested. */
  roleArn?: string;
  externalId?: string;
  /** Length of the role session, 900–43200 s; default 3600. */
  sessionDurationSeconds?: number;
}

/** What an ECR host name says: a private registry (account, region, FIPS, partition) or ECR Public. */
export type EcrHost =
  | { kind: 'private'; registryId: string; region: string; fips: boolean; dnsSuffix: string }
  | { kind: 'public' };

/** The official credential helper's host pattern (ecr-login/api/client.go): FIPS, China, dual-stack, GovCloud, ISO. */
const ECR_HOST_PATTERN =
  /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;
const ECR_PUBLIC_HOSTS = new Set(['public.ecr.aws', 'ecr-public.aws.com']);
/** Dual-stack registry domains and the partition whose API endpoints serve them. */
const API_DNS_SUFFIX: Record<string, string> = { 'on.aws': 'amazonaws.com', 'on.amazonwebservices.com.cn': 'amazonaws.com.cn' };
const ECR_PUBLIC_REGION = 'us-east-1';
const DEFAULT_SESSION_SECONDS = 3600;

/** The username an ECR token decodes to. */
export const ECR_USERNAME = 'AWS';

/** Parses an ECR host name; undefined when the host is not one (a custom domain then needs `region`). */
export function parseEcrHost(host: string): EcrHost | undefined {
  const name = host.toLowerCase();
  if (ECR_PUBLIC_HOSTS.has(name)) return { kind: 'public' };
  if (name.length > 253) return undefined;
  const match = ECR_HOST_PATTERN.exec(name);
  if (!match) return undefined;
  const domain = match[4]!;
  return { kind: 'private', registryId: match[1]!, fips: match[2] !== undefined, region: match[3]!, dnsSuffix: API_DNS_SUFFIX[domain] ?? domain };
}

/** Where and how the token is requested for a host and identity. */
export interface EcrTarget {
  kind: 'private' | 'public';
  region: string;
  endpoint: URL;
  signingService: 'ecr' | 'ecr-public';
  target: string;
}

/** Resolves the API endpoint for a host: the host's own region and partition, or the identity's region for a custom domain. */
export function resolveEcrTarget(host: string, identity: Pick<AwsIdentity, 'region'>, deps: Pick<ProviderDeps, 'env'>): EcrTarget {
  const parsed = parseEcrHost(host);
  if (identity.region !== undefined && !isRegionName(identity.region)) {
    throw new MintError('aws-ecr', 'invalid_identity', 'region is not an AWS region name');
  }
  if (parsed?.kind === 'public') {
    return {
      kind: 'public',
      region: ECR_PUBLIC_REGION,
      endpoint: resolveAwsEndpoint('ECR_PUBLIC', `https://api.ecr-public.${ECR_PUBLIC_REGION}.amazonaws.com/`, deps.env),
      signingService: 'ecr-public',
      target: 'SpencerFrontendService.GetAuthorizationToken',
    };
  }
  const region = identity.region ?? parsed?.region;
  if (!region) throw new MintError('aws-ecr', 'unsupported_host', `${host} is not an ECR host name; set region for a custom domain`);
  const dnsSuffix = parsed && parsed.region === region ? parsed.dnsSuffix : dnsSuffixForRegion(region);
  const apiHost = parsed?.fips ? `ecr-fips.${region}.${dnsSuffix}` : `api.ecr.${region}.${dnsSuffix}`;
  return {
    kind: 'private',
    region,
    endpoint: resolveAwsEndpoint('ECR', `https://${apiHost}/`, deps.env),
    signingService: 'ecr',
    target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
  };
}

/**
 * Mints an ECR credential for `host`: AssumeRole first when `roleArn` is set, then GetAuthorizationToken.
 * It expires at the token's `expiresAt` or the role session's end, whichever comes first.
 */
export async function mintEcrCredential(host: string, identity: AwsIdentity, deps: ProviderDeps): Promise<MintedCredential> {
  const target = resolveEcrTarget(host, identity, deps);
  let credentials: AwsCredentials = { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey };
  let sessionEnd = Number.POSITIVE_INFINITY;
  if (identity.roleArn) {
    const duration = identity.sessionDurationSeconds ?? DEFAULT_SESSION_SECONDS;
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw new MintError('aws-ecr', 'invalid_identity', 'sessionDurationSeconds must be an integer from 900 to 43200');
    }
    const session = await assumeRole(
      {
        credentials,
        roleArn: identity.roleArn,
        externalId: identity.externalId,
        durationSeconds: duration,
        region: target.region,
      },
      deps,
    );
    credentials = session.credentials;
    sessionEnd = session.expiresAt;
  }
  const token = await getAuthorizationToken(target, credentials, deps);
  return { ...token, expiresAt: Math.min(token.expiresAt, sessionEnd) };
}

async function getAuthorizationToken(target: EcrTarget, credentials: AwsCredentials, deps: ProviderDeps): Promise<MintedCredential> {
  const step = target.kind === 'public' ? 'ECR Public GetAuthorizationToken' : 'ECR GetAuthorizationToken';
  const body = '{}';
  const headers = signSigV4(
    { method: 'POST', url: target.endpoint, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target.target }, body },
    credentials,
    { region: target.region, service: target.signingService },
    new Date(deps.nowMs()),
  );
  const response = await sendStep('aws-ecr', step, deps, { method: 'POST', url: target.endpoint, headers, body });
  if (!isSuccess(response.status)) throw refusedError('aws-ecr', step, awsJsonErrorType(response.headers['x-amzn-errortype'], response.body), response.status);

  const answer = parseJsonObject('aws-ecr', step, response);
  // Private ECR answers a list (one entry per registry id asked for); ECR Public a single object.
  const data = Array.isArray(answer['authorizationData']) ? (answer['authorizationData'][0] as unknown) : answer['authorizationData'];
  const { authorizationToken, expiresAt } = (typeof data === 'object' && data !== null ? data : {}) as { authorizationToken?: unknown; expiresAt?: unknown };
  if (typeof authorizationToken !== 'string' || typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new MintError('aws-ecr', 'malformed_response', `${step}: the answer has no authorizationToken and expiresAt`, response.status);
  }
  const decoded = Buffer.from(authorizationToken, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1 || colon === decoded.length - 1) {
    throw new MintError('aws-ecr', 'malformed_response', `${step}: the authorization token does not decode to user:password`, response.status);
  }
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1), expiresAt: Math.round(expiresAt * 1000) };
}

/** The error type of an AWS JSON answer: `x-amzn-errortype` or `__type`, without namespace or URL parts. */
export function awsJsonErrorType(header: string | string[] | undefined, body: Buffer): string | undefined {
  let type: unknown = Array.isArray(header) ? header[0] : header;
  if (typeof type !== 'string' || type.length === 0) {
    try {
      type = (JSON.parse(body.toString('utf8')) as { __type?: unknown }).__type;
    } catch {
      return undefined;
    }
  }
  if (typeof type !== 'string') return undefined;
  const afterHash = type.slice(type.lastIndexOf('#') + 1);
  const colon = afterHash.indexOf(':');
  return colon === -1 ? afterHash : afterHash.slice(0, colon);
}
