import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildSigV4Signature, deriveSigningKey, formatAmzDate, signSigV4, uriEncode } from './sigv4.js';

// AWS's SigV4 test suite (aws-sig-v4-test-suite): its credentials, date, region and service.
const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_SCOPE = { region: 'us-east-1', service: 'service' };
const SUITE_DATE = new Date('2015-08-30T12:36:00Z');
const SUITE_SESSION_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

interface Vector {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  sessionToken?: string;
  signedHeaders: string;
  signature: string;
}

const VECTORS: Vector[] = [
  { name: 'get-vanilla', method: 'GET', path: '/', signedHeaders: 'host;x-amz-date', signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    path: '/?Param2=value2&Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    path: '/',
    headers: { 'My-Header1': ' value1', 'My-Header2': ' "a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  { name: 'post-vanilla', method: 'POST', path: '/', signedHeaders: 'host;x-amz-date', signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
  {
    name: 'post-header-key-sort',
    method: 'POST',
    path: '/',
    headers: { 'My-Header1': 'value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    path: '/',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  {
    name: 'post-sts-token/post-sts-header-before',
    method: 'POST',
    path: '/',
    sessionToken: SUITE_SESSION_TOKEN,
    signedHeaders: 'host;x-amz-date;x-amz-security-token',
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
];

describe('buildSigV4Signature', () => {
  it.each(VECTORS)('matches the published signature of $name', (vector) => {
    const request = {
      method: vector.method,
      url: new URL(`https://example.amazonaws.com${vector.path}`),
      headers: { Host: 'example.amazonaws.com', ...vector.headers },
      body: vector.body ?? '',
    };

    const signed = buildSigV4Signature(request, { ...SUITE_CREDENTIALS, sessionToken: vector.sessionToken }, SUITE_SCOPE, SUITE_DATE);

    expect(signed.headers['authorization']).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${vector.signedHeaders}, Signature=${vector.signature}`,
    );
  });

  it('builds the published canonical request and string to sign of get-vanilla', () => {
    const signed = buildSigV4Signature(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
      SUITE_CREDENTIALS,
      SUITE_SCOPE,
      SUITE_DATE,
    );

    expect(signed.canonicalRequest).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(signed.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
  });

  it('signs the IAM ListUsers example of the AWS signing guide', () => {
    const signed = buildSigV4Signature(
      {
        method: 'GET',
        url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: '',
      },
      SUITE_CREDENTIALS,
      { region: 'us-east-1', service: 'iam' },
      SUITE_DATE,
    );

    expect(createHash('sha256').update(signed.canonicalRequest).digest('hex')).toBe('f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59');
    expect(signed.signature).toBe('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
  });

  it('signs whatever headers it is given, so a header changed in transit breaks the signature', () => {
    const request = { method: 'POST', url: new URL('https://api.ecr.eu-west-1.amazonaws.com/'), headers: { 'X-Amz-Target': 'A.B' }, body: '{}' };

    const one = buildSigV4Signature(request, SUITE_CREDENTIALS, { region: 'eu-west-1', service: 'ecr' }, SUITE_DATE);
    const other = buildSigV4Signature({ ...request, headers: { 'X-Amz-Target': 'A.C' } }, SUITE_CREDENTIALS, { region: 'eu-west-1', service: 'ecr' }, SUITE_DATE);

    expect(one.signedHeaders).toBe('host;x-amz-date;x-amz-target');
    expect(one.signature).not.toBe(other.signature);
  });

  it('sends the session token and never the secret key', () => {
    const headers = signSigV4(
      { method: 'POST', url: new URL('https://sts.us-east-1.amazonaws.com/'), headers: {}, body: '' },
      { ...SUITE_CREDENTIALS, sessionToken: 'session-token' },
      { region: 'us-east-1', service: 'sts' },
      SUITE_DATE,
    );

    expect(headers['x-amz-security-token']).toBe('session-token');
    expect(JSON.stringify(headers)).not.toContain(SUITE_CREDENTIALS.secretAccessKey);
  });
});

describe('deriveSigningKey', () => {
  it('matches the documented key for 20150830/us-east-1/iam', () => {
    expect(deriveSigningKey(SUITE_CREDENTIALS.secretAccessKey, '20150830', 'us-east-1', 'iam').toString('hex')).toBe(
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    );
  });

  it('is the HMAC chain over date, region, service and aws4_request', () => {
    const step = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const expected = step(step(step(step('AWS4secret', '20240102'), 'ap-south-1'), 'ecr'), 'aws4_request');

    expect(deriveSigningKey('secret', '20240102', 'ap-south-1', 'ecr').equals(expected)).toBe(true);
  });
});

describe('formatAmzDate and uriEncode', () => {
  it('formats the timestamp without separators or milliseconds', () => {
    expect(formatAmzDate(new Date('2024-01-02T03:04:05.678Z'))).toBe('20240102T030405Z');
  });

  it("encodes the characters encodeURIComponent leaves alone (!'()*) and keeps unreserved ones", () => {
    expect(uriEncode("a-b_c.d~e!'()* /")).toBe('a-b_c.d~e%21%27%28%29%2A%20%2F');
  });
});
