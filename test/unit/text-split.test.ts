/** Splitting long text into parts Instagram accepts (src/domain/text.ts), checked against Node's UTF-8 encoder. */
import { MAX_TEXT_BYTES, splitText } from '../../src/domain/text';

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');
const graphemes = (text: string): string[] => [...graphemeSegmenter.segment(text)].map((piece) => piece.segment);

/** The promises every split keeps, whatever the text. */
function expectValidSplit(text: string, parts: string[], limit = MAX_TEXT_BYTES): void {
  expect(parts.join('')).toBe(text);
  for (const part of parts) {
    expect(part.length).toBeGreaterThan(0);
    expect(byteLength(part)).toBeLessThanOrEqual(limit);
  }
  // Cut only between clusters: segmenting each part gives back exactly the clusters of the whole.
  // (Compared as JSON: one string comparison instead of a deep comparison of thousands of elements.)
  expect(JSON.stringify(parts.flatMap(graphemes))).toBe(JSON.stringify(graphemes(text)));
}

function split(text: string, limit = MAX_TEXT_BYTES): string[] {
  const parts = splitText(text, limit);
  expectValidSplit(text, parts, limit);
  return parts;
}

describe('splitText: limits', () => {
  it('returns a text within the limit as one part', () => {
    expect(split('short')).toEqual(['short']);
    expect(split('a'.repeat(1000))).toEqual(['a'.repeat(1000)]);
    expect(split('가'.repeat(333) + 'a')).toHaveLength(1);
  });

  it('splits a text one byte over the limit', () => {
    expect(split('a'.repeat(1001))).toEqual(['a'.repeat(1000), 'a']);
    expect(split('가'.repeat(333) + 'ab')).toEqual(['가'.repeat(333), 'ab']); // the word boundary where the script changes
    expect(split('가'.repeat(334))).toEqual(['가'.repeat(333), '가']);
  });

  it('fills parts to exactly the limit when the clusters add up to it', () => {
    const family = '👩‍👩‍👧‍👦'; // 25 bytes: four 4-byte emoji joined by three 3-byte ZWJs
    expect(byteLength(family)).toBe(25);
    const parts = split(family.repeat(100));
    expect(parts.map(byteLength)).toEqual([1000, 1000, 500]);
  });

  it('gives the empty text no parts, so nothing empty is ever sent', () => {
    expect(splitText('')).toEqual([]);
  });

  it('refuses a limit that could not hold every character', () => {
    expect(() => splitText('x', 3)).toThrow(RangeError);
    expect(() => splitText('x', 10.5)).toThrow(RangeError);
    expect(() => splitText('x', Number.NaN)).toThrow(RangeError);
  });
});

describe('splitText: scripts and clusters', () => {
  it('splits Korean without spaces into 333 syllables (999 bytes) a part', () => {
    const parts = split('가'.repeat(1000));
    expect(parts.map((part) => [...part].length)).toEqual([333, 333, 333, 1]);
  });

  it('keeps Korean words whole, cutting after the space', () => {
    const text = '안녕하세요 반갑습니다 '.repeat(60);
    const parts = split(text);
    for (const part of parts.slice(0, -1)) expect(part.endsWith(' ')).toBe(true);
  });

  it('never separates the conjoining jamo of a decomposed syllable', () => {
    const syllable = '\u1112\u1161\u11ab'; // 한 as three jamo: one cluster of 9 bytes
    expect(graphemes(syllable)).toHaveLength(1);
    const parts = split('x' + syllable.repeat(200));
    expect(parts[0]).toBe('x' + syllable.repeat(111)); // 1 + 999 bytes
  });

  it('keeps emoji with skin-tone modifiers whole', () => {
    const thumbs = '👍🏽'; // 8 bytes
    const parts = split('x' + thumbs.repeat(200));
    expect(parts[0]).toBe('x' + thumbs.repeat(124)); // 993 bytes: one more emoji would make 1,001
  });

  it('keeps ZWJ sequences whole when the limit falls inside one', () => {
    const family = '👩‍👩‍👧‍👦';
    const parts = split('abc' + family.repeat(80));
    expect(parts[0]).toBe('abc' + family.repeat(39)); // 978 bytes; the 40th family would end at 1,003
    const rainbowFlag = '🏳️‍🌈';
    split(rainbowFlag.repeat(150), 100);
  });

  it('keeps flags (pairs of regional indicators) whole and paired', () => {
    const flags = '🇰🇷🇯🇵🇺🇸';
    const parts = split('ab' + flags.repeat(50), 100);
    expect(parts[0]).toBe('ab' + flags.repeat(4)); // 98 bytes; one more 8-byte flag would not fit
    for (const part of parts.slice(1)) expect(graphemes(part).every((cluster) => ['🇰🇷', '🇯🇵', '🇺🇸'].includes(cluster))).toBe(true);
  });

  it('keeps combining sequences whole', () => {
    const clusters = ['e\u0301', 'a\u0308\u0323', 'क्षि', 'ก่', 'n\u0303'];
    split(clusters.join('').repeat(120));
    split(clusters.join('').repeat(40), 37);
  });

  it('keeps CR LF together', () => {
    const parts = split('ab\r\n'.repeat(10), 7);
    for (const part of parts) expect(part.startsWith('\n')).toBe(false);
  });

  it('cuts a single cluster longer than the limit between code points, as the byte limit must hold', () => {
    const zalgo = 'e' + '\u0301'.repeat(600); // one cluster of 1,201 bytes
    const parts = splitText(zalgo);
    expect(parts.join('')).toBe(zalgo);
    for (const part of parts) expect(byteLength(part)).toBeLessThanOrEqual(1000);
    expect(parts).toHaveLength(2);
  });
});

describe('splitText: words and URLs', () => {
  it('cuts after whitespace, leaving the whitespace at the end of the earlier part', () => {
    expect(split('aaaa bbbb cccc', 10)).toEqual(['aaaa bbbb ', 'cccc']);
    const parts = split('word '.repeat(700));
    for (const part of parts.slice(0, -1)) expect(part).toMatch(/^word( word)* $/);
  });

  it('starts the next part with the whitespace only when it does not fit', () => {
    expect(split('aaaaaaaaa bbb', 9)).toEqual(['aaaaaaaaa', ' bbb']);
  });

  it('prefers a line break or space to cutting a word', () => {
    const paragraph = 'The quick brown fox jumps over the lazy dog.\n';
    const parts = split(paragraph.repeat(50));
    for (const part of parts.slice(0, -1)) expect(part).toMatch(/\s$/);
  });

  it('cuts text without spaces at word boundaries, not in slivers', () => {
    const japanese = 'これは日本語の文章です。東京の天気は晴れです。';
    const text = 'hi ' + japanese.repeat(20);
    const parts = split(text, 60);
    const boundaries = new Set([...wordSegmenter.segment(text)].map((piece) => piece.index));
    let offset = 0;
    for (const part of parts.slice(0, -1)) {
      offset += part.length;
      expect(boundaries.has(offset)).toBe(true);
      expect(byteLength(part)).toBeGreaterThanOrEqual(30);
    }
  });

  it('does not cut after a no-break space when an ordinary space will do', () => {
    expect(split('aaaaaaaa bbbbb\u00a0€€', 18)).toEqual(['aaaaaaaa ', 'bbbbb\u00a0€€']);
  });

  it('cuts a word longer than the limit at cluster boundaries', () => {
    expect(split('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    expect(split('x'.repeat(5000))).toEqual(Array.from({ length: 5 }, () => 'x'.repeat(1000)));
  });

  it('moves a URL that would straddle the cut to the next part whole', () => {
    const url = 'https://example.com/orders/12345?lang=ko&ref=dm-reply#details'; // 61 bytes
    const parts = split('a '.repeat(470) + 'see ' + url + ' for your order');
    expect(parts).toEqual(['a '.repeat(470) + 'see ', url + ' for your order']);
  });

  it('does not cut inside a URL even where the word segmenter sees boundaries', () => {
    const url = 'https://shop.example/p/a.b-c_d/e?x=1&y=2'; // 40 bytes; "a.b", "-", "c_d", "/" ... are words
    const parts = split(`zz ${'y'.repeat(10)} ${url}`, 50);
    expect(parts).toEqual([`zz ${'y'.repeat(10)} `, url]);
  });

  it('cuts a URL longer than the limit at cluster boundaries, even inside emoji in its path', () => {
    const url = 'https://example.com/' + '👍🏽가é'.repeat(120);
    expect(byteLength(url)).toBeGreaterThan(1000);
    const parts = split(`look: ${url} thanks`);
    expect(parts[0]).toBe('look: ');
    expect(parts.join('')).toContain(url);
  });

  it('treats upper-case schemes as URLs too', () => {
    const url = 'HTTPS://EXAMPLE.COM/A/B/C/D';
    expect(split(`${'q'.repeat(10)} ${url}`, 35)).toEqual(['q'.repeat(10) + ' ', url]);
  });

  it('splits a long text the same as a short one (it is segmented a slice at a time)', () => {
    const paragraph = '안녕하세요 👩‍👩‍👧‍👦🇰🇷 e\u0301 https://ex.com/a?b=c 日本語のテキスト\r\n';
    const parts = split(paragraph.repeat(400));
    expect(parts.length).toBeGreaterThan(20);
  });

  it('splits mixed text of every kind', () => {
    const mixed = '안녕하세요! Your order 👩‍👩‍👧‍👦 ships today 🇰🇷 — café naïve https://ex.com/a?b=c 👍🏽\n';
    split(mixed.repeat(40));
    split(mixed.repeat(40), 120);
  });
});

/** mulberry32: a tiny seeded generator, so a failing case can be reproduced from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const trickyClusters = [
  'a', 'Z', '7', '.', ',', '-', ' ', ' ', ' ', '\n', '\r\n', '\t', '\u00a0',
  '가', '한', '\u1112\u1161\u11ab', 'é', 'e\u0301', 'a\u0308\u0323', 'क्षि', 'ก่', '日', '本', 'の',
  '😀', '👍🏽', '👩‍👩‍👧‍👦', '👨🏿‍💻', '🏳️‍🌈', '🇰🇷', '🇯🇵', '❤️', '1️⃣',
];
const urls = ['https://example.com/', 'http://a.io/x?y=1&z=2', 'https://shop.example/p/가나/👍🏽?q=é', 'HTTPS://X.Y/' + 'long'.repeat(12)];
const limits = [25, 26, 33, 64, 100, 257, 1000];

function randomText(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const targetBytes = Math.floor(random() * 3000);
  let text = '';
  while (byteLength(text) < targetBytes) {
    const roll = random();
    if (roll < 0.05) text += ` ${pick(urls)} `;
    else if (roll < 0.15) text += 'word'.repeat(1 + Math.floor(random() * 4));
    else text += pick(trickyClusters);
  }
  return text;
}

describe('splitText: generated texts', () => {
  it.each(Array.from({ length: 20 }, (_, index) => 1000 + index))('keeps every promise for texts of seed %i', (seed) => {
    const random = seededRandom(seed);
    for (let round = 0; round < 25; round += 1) {
      const text = randomText(random);
      const limit = limits[Math.floor(random() * limits.length)]!;
      const parts = split(text, limit);
      if (text !== '' && byteLength(text) <= limit) expect(parts).toEqual([text]);

      // Every URL that fits in a part arrives in one part.
      const starts: number[] = [];
      parts.reduce((offset, part) => (starts.push(offset), offset + part.length), 0);
      for (const match of text.matchAll(/https?:\/\/\S+/giu)) {
        if (byteLength(match[0]) > limit) continue;
        const cutsInside = starts.filter((start) => start > match.index && start < match.index + match[0].length);
        expect(cutsInside).toEqual([]);
      }
    }
  });
});
