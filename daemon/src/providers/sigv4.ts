import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for header-signed requests (docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_sigv-create-signed-request.html), checked against AWS's published test suite. Every
 * header handed in is signed, plus `host`, `x-amz-date` and, with a session, `x-amz-security-token`.
 * Paths are normalised and encoded once, as in the test suite; the daemon only ever signs `/`.
 */

/** An AWS access key, with the session token of temporary credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The request to sign; `headers` are the ones to send and sign (names in any case). */
export interface SigV4Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** The signing scope's region and service name (`ecr`, `ecr-public`, `sts`). */
export interface SigV4Scope {
  region: string;
  service: string;
}

/** Every intermediate of a signature, for tests and for debugging without secrets. */
export interface SigV4Signature {
  /** The headers to send: the request's own plus host, x-amz-date, the session token and authorization. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Signs a request at `now` and returns the headers to send with it. */
export function signSigV4(request: SigV4Request, credentials: AwsCredentials, scope: SigV4Scope, now: Date): Record<string, string> {
  return buildSigV4Signature(request, credentials, scope, now).headers;
}

/** Builds the canonical request, the string to sign and the signature of a request. */
export function buildSigV4Signature(request: SigV4Request, credentials: AwsCredentials, scope: SigV4Scope, now: Date): SigV4Signature {
  const amzDate = formatAmzDate(now);
  const dateStamp = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['host'] ??= request.url.host;
  headers['x-amz-date'] = amzDate;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url.search),
    names.map((name) => `${name}:${canonicalHeaderValue(headers[name]!)}\n`).join(''),
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
  const credentialScope = `${dateStamp}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', deriveSigningKey(credentials.secretAccessKey, dateStamp, scope.region, scope.service))
    .update(stringToSign, 'utf8')
    .digest('hex');
  headers['authorization'] = `${ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signedHeaders, signature };
}

/** The signing key: HMAC chain over date, region, service and "aws4_request". */
export function deriveSigningKey(secretAccessKey: string, dateStamp: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, dateStamp);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function formatAmzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, upper-case hex. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const segment of pathname.split('/').slice(1)) {
    if (segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(safeDecode(segment)));
  }
  return `/${segments.join('/')}`;
}

function canonicalQuery(search: string): string {
  if (search.length <= 1) return '';
  const pairs = search
    .slice(1)
    .split('&')
    .filter((part) => part.length > 0)
    .map((part) => {
      const equals = part.indexOf('=');
      const key = equals === -1 ? part : part.slice(0, equals);
      const value = equals === -1 ? '' : part.slice(equals + 1);
      return [uriEncode(safeDecode(key)), uriEncode(safeDecode(value))] as const;
    });
  pairs.sort(([keyA, valueA], [keyB, valueB]) => compare(keyA, keyB) || compare(valueA, valueB));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
