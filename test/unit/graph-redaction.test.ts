/** Tokens and secrets never reach a log line or an error message (src/graph/redaction.ts). */
import { scrubText, scrubUrl } from '../../src/graph/redaction';

const token = `EAA${'b'.repeat(60)}`;

describe('scrubUrl', () => {
  it('redacts every secret-bearing query parameter and keeps the rest', () => {
    const url = `https://graph.facebook.com/v25.0/oauth/access_token?client_id=1&client_secret=s3cret&fb_exchange_token=${token}&grant_type=fb_exchange_token`;
    const scrubbed = scrubUrl(url);
    expect(scrubbed).not.toContain('s3cret');
    expect(scrubbed).not.toContain(token);
    expect(scrubbed).toContain('client_id=1');
    expect(scrubbed).toContain('grant_type=fb_exchange_token');
    expect(scrubbed).toContain('client_secret=[redacted]');
  });

  it('redacts debug_token inputs and the app token', () => {
    const scrubbed = scrubUrl(`http://127.0.0.1:4010/v25.0/debug_token?input_token=${token}&access_token=1|appsecret`);
    expect(scrubbed).not.toContain(token);
    expect(scrubbed).not.toContain('appsecret');
  });

  it('redacts the authorization code', () => {
    expect(scrubUrl('http://x/oauth/access_token?code=AQabc&redirect_uri=http%3A%2F%2Fy')).not.toContain('AQabc');
  });

  it('handles strings that are not URLs', () => {
    expect(scrubUrl(`/me?access_token=${token}`)).not.toContain(token);
  });
});

describe('scrubText', () => {
  it('redacts token-shaped words in free text such as Meta error messages', () => {
    expect(scrubText(`Malformed access token ${token}.`)).toBe('Malformed access token [redacted].');
  });

  it('leaves ordinary text alone', () => {
    expect(scrubText('(#100) No matching Instagram user')).toBe('(#100) No matching Instagram user');
  });
});
