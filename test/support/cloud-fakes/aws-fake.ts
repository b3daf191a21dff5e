/**
 * A strict stand-in for AWS STS (AssumeRole) and ECR / ECR Public (GetAuthorizationToken) on one
 * loopback server: point `AWS_ENDPOINT_URL` at it. Every request's SigV4 signature is recomputed from
 * the headers its own `SignedHeaders` lists (no fixed header set is assumed) and a bad one is refused
 * with AWS's error shapes; the target, content type, body and region are checked too.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { applyFailure, isForm, json, listenFake, newLedger, parseForm, type FakeAnswer, type FakeLedger, type FakeRequest } from './fake-http.js';

/** What the fake accepts. */
export interface FakeAwsOptions {
  accessKeyId: string;
  secretAccessKey: string;
  /** The region ECR calls must be signed for (ECR Public always uses us-east-1). */
  region: string;
  /** The role AssumeRole may assume; when set, ECR only accepts the role's session credentials. */
  role?: { arn: string; externalId?: string };
  /** Lifetime of the ECR tokens issued (default 12 h). */
  tokenLifetimeSeconds?: number;
  /** The password every ECR token decodes to (default: a random one per token), for a registry told to accept it. */
  password?: string;
  /** Caps role sessions below the DurationSeconds asked for (a role's maximum session duration). */
  maxSessionSeconds?: number;
  nowMs?: () => number;
}

/** A running fake: its ledger's rejections name the signature, target or body problem; its issued secrets are ECR passwords and role sessions. */
export interface FakeAws extends FakeLedger<'sts' | 'ecr' | 'ecrPublic'> {
  url: URL;
  /** The DurationSeconds and ExternalId of the AssumeRole calls. */
  assumeRoleForms: Record<string, string>[];
  close(): Promise<void>;
}

interface Session {
  secretAccessKey: string;
  sessionToken?: string;
}

const TARGETS = {
  ecr: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
  ecrPublic: 'SpencerFrontendService.GetAuthorizationToken',
} as const;

/** Starts the fake on 127.0.0.1. */
export async function startFakeAws(options: FakeAwsOptions): Promise<FakeAws> {
  const nowMs = options.nowMs ?? Date.now;
  const sessions = new Map<string, Session>([[options.accessKeyId, { secretAccessKey: options.secretAccessKey }]]);
  const ledger = newLedger(['sts', 'ecr', 'ecrPublic'] as const);
  const { calls, failures, rejections, issuedSecrets } = ledger;
  const assumeRoleForms: Record<string, string>[] = [];

  const route = (request: FakeRequest): FakeAnswer => {
    const signed = verifySignature(request, sessions, nowMs());
    const service = signed.ok ? signed.service : /\/(sts|ecr|ecr-public)\/aws4_request/.exec(header(request.headers, 'authorization'))?.[1];
    const refuse = service === 'sts' ? stsError : ecrError;
    if (!signed.ok) {
      rejections.push(signed.reason);
      return refuse(403, signed.code, signed.reason);
    }
    if (signed.service === 'sts') {
      calls.sts++;
      return applyFailure(failures.sts, (status) => stsError(status, status === 403 ? 'AccessDenied' : 'InternalFailure', 'failure switched on')) ?? assumeRole(request, signed);
    }
    const kind = signed.service === 'ecr-public' ? 'ecrPublic' : 'ecr';
    calls[kind]++;
    return applyFailure(failures[kind], (status) => ecrError(status, status === 403 ? 'AccessDeniedException' : 'ServerException', 'failure switched on')) ?? getAuthorizationToken(request, signed, kind);
  };

  const assumeRole = (request: FakeRequest, signed: Signed): FakeAnswer => {
    const form = parseForm(request.body);
    assumeRoleForms.push(form);
    const problem =
      (!isForm(request) && 'content type is not a form') ||
      (signed.sessionToken !== undefined && 'AssumeRole signed with a session, not the access key') ||
      (form['Action'] !== 'AssumeRole' && 'Action is not AssumeRole') ||
      (form['Version'] !== '2011-06-15' && 'Version is not 2011-06-15') ||
      (!/^[\w+=,.@-]{2,64}$/.test(form['RoleSessionName'] ?? '') && 'RoleSessionName is invalid') ||
      (!/^\d+$/.test(form['DurationSeconds'] ?? '') && 'DurationSeconds is missing');
    if (problem) {
      rejections.push(problem);
      return stsError(400, 'ValidationError', problem);
    }
    if (!options.role || form['RoleArn'] !== options.role.arn || form['ExternalId'] !== options.role.externalId) {
      rejections.push('role or external id does not match');
      return stsError(403, 'AccessDenied', `not authorized to perform sts:AssumeRole (echo: ${request.body})`);
    }
    const seconds = Math.min(Number(form['DurationSeconds']), options.maxSessionSeconds ?? Number.POSITIVE_INFINITY);
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const session = { secretAccessKey: randomBytes(20).toString('base64'), sessionToken: randomBytes(48).toString('base64') };
    sessions.set(accessKeyId, session);
    issuedSecrets.push(session.secretAccessKey, session.sessionToken);
    const expiration = new Date(nowMs() + seconds * 1000).toISOString();
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>${options.role.arn}/${form['RoleSessionName']}</Arn><AssumedRoleId>AROA:${form['RoleSessionName']}</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${session.secretAccessKey}</SecretAccessKey>
      <SessionToken>${session.sessionToken}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>${randomBytes(8).toString('hex')}</RequestId></ResponseMetadata>
</AssumeRoleResponse>`,
    };
  };

  const getAuthorizationToken = (request: FakeRequest, signed: Signed, kind: 'ecr' | 'ecrPublic'): FakeAnswer => {
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      body = undefined;
    }
    const registryIds = (body as { registryIds?: unknown } | undefined)?.registryIds;
    const expectedRegion = kind === 'ecrPublic' ? 'us-east-1' : options.region;
    const problem =
      (header(request.headers, 'content-type') !== 'application/x-amz-json-1.1' && 'content type is not application/x-amz-json-1.1') ||
      (header(request.headers, 'x-amz-target') !== TARGETS[kind] && 'x-amz-target does not name GetAuthorizationToken') ||
      ((typeof body !== 'object' || body === null || Array.isArray(body)) && 'body is not a JSON object') ||
      (registryIds !== undefined && (kind === 'ecrPublic' || !Array.isArray(registryIds) || !registryIds.every((id) => /^\d{12}$/.test(String(id)))) && 'registryIds is invalid') ||
      (signed.region !== expectedRegion && `signed for region ${signed.region}, not ${expectedRegion}`) ||
      (options.role !== undefined && signed.sessionToken === undefined && 'the role session must call ECR, not the access key');
    if (problem) {
      rejections.push(problem);
      return ecrError(400, problem.startsWith('the role') ? 'AccessDeniedException' : 'InvalidParameterException', problem);
    }
    const password = options.password ?? randomBytes(32).toString('base64');
    issuedSecrets.push(password);
    const data = {
      authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
      expiresAt: (nowMs() + (options.tokenLifetimeSeconds ?? 12 * 3600) * 1000) / 1000,
    };
    return json(200, { authorizationData: kind === 'ecrPublic' ? data : [{ ...data, proxyEndpoint: 'https://123456789012.dkr.ecr.example' }] });
  };

  const listener = await listenFake(route);
  return { url: listener.url, ...ledger, assumeRoleForms, close: listener.close };
}

type Signed = { ok: true; service: string; region: string; sessionToken: string | undefined };

/** Recomputes the signature from the headers the request says it signed. */
function verifySignature(request: FakeRequest, sessions: Map<string, Session>, now: number): Signed | { ok: false; code: string; reason: string } {
  const fail = (code: string, reason: string) => ({ ok: false as const, code, reason });
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    header(request.headers, 'authorization'),
  );
  if (!auth) return fail('IncompleteSignature', 'no SigV4 Authorization header');
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = auth as unknown as string[];
  const names = signedHeaderList!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return fail('IncompleteSignature', 'host and x-amz-date must be signed');
  const session = sessions.get(accessKeyId!);
  if (!session) return fail(service === 'sts' ? 'InvalidClientTokenId' : 'UnrecognizedClientException', 'unknown access key');
  const token = header(request.headers, 'x-amz-security-token') || undefined;
  if (token !== session.sessionToken) return fail('UnrecognizedClientException', 'security token missing or wrong');
  if (token !== undefined && !names.includes('x-amz-security-token')) return fail('IncompleteSignature', 'the security token must be signed');
  const amzDate = header(request.headers, 'x-amz-date');
  const at = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!amzDate.startsWith(date!) || !Number.isFinite(at) || Math.abs(at - now) > 5 * 60 * 1000) return fail('SignatureDoesNotMatch', 'x-amz-date is off');

  const [path = '/', query = ''] = request.target.split('?');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((pair) => pair.split('=').map((part) => encodeRfc3986(decodeURIComponent(part))).join('='))
    .sort()
    .join('&');
  const canonicalHeaders = names.map((name) => `${name}:${header(request.headers, name).trim().replace(/\s+/g, ' ')}\n`).join('');
  const hash = (text: string) => createHash('sha256').update(text).digest('hex');
  const canonical = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaderList, hash(request.body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${hash(canonical)}`;
  let key: Buffer | string = `AWS4${session.secretAccessKey}`;
  for (const part of [date!, region!, service!, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(toSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) return fail('SignatureDoesNotMatch', 'signature does not match');
  return { ok: true, service: service!, region: region!, sessionToken: token };
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function stsError(status: number, code: string, message: string): FakeAnswer {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
  };
}

function ecrError(status: number, type: string, message: string): FakeAnswer {
  return json(status, { __type: `com.amazonaws.ecr#${type}`, message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.ecr/` });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
