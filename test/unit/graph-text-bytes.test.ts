/** The 1,000-byte text limit (src/domain/text.ts), checked against Node's own UTF-8 encoder. */
import { exceedsTextLimit, MAX_TEXT_BYTES, splitText, utf8ByteLength } from '../../src/domain/text';

describe('utf8ByteLength', () => {
  it.each(['', 'hello', 'é', '가나다', '😀', 'mixed é 가 😀 text', '\u0000\u007f\u0080\u07ff\u0800\uffff'])('matches Buffer.byteLength for %p', (text) => {
    expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });

  it('counts about 333 Korean characters as the 1,000-byte limit', () => {
    expect(utf8ByteLength('가'.repeat(333))).toBe(999);
    expect(exceedsTextLimit('가'.repeat(333) + 'a')).toBe(false);
    expect(exceedsTextLimit('가'.repeat(334))).toBe(true);
    expect(MAX_TEXT_BYTES).toBe(1000);
  });
});

describe('splitText', () => {
  const samples = [
    'word '.repeat(700),
    '가나다라마바사 '.repeat(120),
    '😀'.repeat(600),
    'x'.repeat(2500),
    'short',
    '',
  ];

  it.each(samples.map((text) => [text.slice(0, 12), text]))('keeps every part within the limit and the text whole (%p…)', (_label, text) => {
    const parts = splitText(text);
    expect(parts.join('')).toBe(text);
    for (const part of parts) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(1000);
    expect(parts.every((part) => !/[\ud800-\udbff]$/.test(part))).toBe(true);
  });

  it('cuts after whitespace when it can', () => {
    const parts = splitText('aaaa bbbb cccc', 10);
    expect(parts).toEqual(['aaaa bbbb ', 'cccc']);
  });

  it('refuses a limit too small for one code point', () => {
    expect(() => splitText('x', 3)).toThrow(RangeError);
  });
});
