import { describe, expect, it } from 'vitest';
import { parseAssumeRoleResponse, xmlElementText } from './aws-sts.js';

const ANSWER = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/puller/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>secret/with+chars&amp;more</SecretAccessKey>
      <SessionToken>token==</SessionToken>
      <Expiration>2030-01-01T01:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>`;

describe('parseAssumeRoleResponse', () => {
  it('reads the session credentials and expiry, decoding entities', () => {
    expect(parseAssumeRoleResponse(ANSWER)).toEqual({
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/with+chars&more', sessionToken: 'token==' },
      expiresAt: Date.UTC(2030, 0, 1, 1),
    });
  });

  it.each([
    ['no Credentials element', ANSWER.replace(/<\/?Credentials>/g, '')],
    ['no SessionToken', ANSWER.replace(/<SessionToken>.*<\/SessionToken>/, '')],
    ['an unreadable Expiration', ANSWER.replace('2030-01-01T01:00:00Z', 'soon')],
    ['an unclosed Credentials element', ANSWER.replace('</Credentials>', '')],
    ['an error answer', '<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>'],
    ['not XML', '{"json": true}'],
  ])('returns undefined for %s', (_, xml) => {
    expect(parseAssumeRoleResponse(xml)).toBeUndefined();
  });
});

describe('xmlElementText', () => {
  it('finds an element with attributes, skips longer tag names and reads self-closing ones as empty', () => {
    expect(xmlElementText('<CodeX>no</CodeX><Code a="1"> AccessDenied </Code>', 'Code')).toBe('AccessDenied');
    expect(xmlElementText('<Code/>', 'Code')).toBe('');
    expect(xmlElementText('<Code>&#65;&#x42;&lt;</Code>', 'Code')).toBe('AB<');
  });

  it('takes linear time on hostile input (many unclosed open tags)', () => {
    const hostile = '<Code '.repeat(200_000);
    const started = performance.now();

    const result = xmlElementText(hostile, 'Code');

    expect(result).toBeUndefined();
    // A quadratic scan of 1.2 MB would take minutes; this bound only catches that, not speed.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
