/** Serialization and signing the way Meta does them (META-API 1.2). */
import { createHmac } from 'node:crypto';
import { serializeLikeMeta, signatureSha1, signatureSha256 } from '../../emulator/meta-json';

describe('serializeLikeMeta', () => {
  it('escapes non-ASCII as lowercase \\uXXXX, as in Meta\'s example', () => {
    expect(serializeLikeMeta({ text: 'äöå' })).toBe('{"text":"\\u00e4\\u00f6\\u00e5"}');
  });

  it('escapes characters outside the BMP as a surrogate pair', () => {
    expect(serializeLikeMeta('😀')).toBe('"\\ud83d\\ude00"');
  });

  it('escapes Hangul and CJK', () => {
    expect(serializeLikeMeta('안녕 你好')).toBe('"\\uc548\\ub155 \\u4f60\\u597d"');
  });

  it('escapes "/" as "\\/"', () => {
    expect(serializeLikeMeta({ url: 'https://cdn.example.com/a/b' })).toBe('{"url":"https:\\/\\/cdn.example.com\\/a\\/b"}');
  });

  it('keeps JSON escapes of quotes, backslashes and control characters', () => {
    expect(serializeLikeMeta('say "hi"\\\n')).toBe('"say \\"hi\\"\\\\\\n"');
  });

  it('is compact and parses back to the same value', () => {
    const value = { object: 'instagram', entry: [{ id: '1', time: 1_700_000_000_000, messaging: [{ text: 'é/ü😀' }] }] };
    const text = serializeLikeMeta(value);
    expect(text).not.toMatch(/\s/);
    expect(JSON.parse(text)).toEqual(value);
    expect([...Buffer.from(text, 'utf8')].every((byte) => byte < 0x80)).toBe(true);
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => serializeLikeMeta(undefined)).toThrow(TypeError);
  });
});

describe('signatures', () => {
  // RFC 4231-style known answers for the classic "quick brown fox" message.
  const message = 'The quick brown fox jumps over the lazy dog';

  it('computes X-Hub-Signature-256 as sha256=<lowercase hex HMAC>', () => {
    expect(signatureSha256('key', message)).toBe('sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('computes the legacy X-Hub-Signature as sha1=<hex HMAC>', () => {
    expect(signatureSha1('key', message)).toBe('sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9');
  });

  it('signs the escaped bytes, which differ from a signature over unescaped JSON', () => {
    const escaped = serializeLikeMeta({ text: 'äöå' });
    const plain = JSON.stringify({ text: 'äöå' });
    expect(signatureSha256('secret', escaped)).toBe(`sha256=${createHmac('sha256', 'secret').update(escaped).digest('hex')}`);
    expect(signatureSha256('secret', escaped)).not.toBe(signatureSha256('secret', plain));
  });
});
