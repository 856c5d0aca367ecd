/** The pure parts of the HTTP edge: which links the API serves, and how deep a JSON body nests. */
import { jsonNestsDeeperThan } from '../../src/api/json-depth';
import { allowHeader } from '../../src/api/method-not-allowed';
import { shownLink } from '../../src/api/shown-links';

describe('shownLink', () => {
  it.each([
    'https://cdn.example/x.jpg?oh=abc&oe=1',
    'http://cdn.example/x.jpg',
    'HTTPS://CDN.EXAMPLE/X.JPG',
    'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=a%2Fb',
  ])('serves the web address %s as it came', (url) => {
    expect(shownLink(url)).toEqual({ url, removed: null });
  });

  it.each([
    ['javascript:alert(document.cookie)', 'javascript'],
    ['JavaScript:alert(1)', 'javascript'],
    ['java\tscript:alert(1)', 'javascript'],
    ['  javascript:alert(1)', 'javascript'],
    ['file:///etc/passwd', 'file'],
    ['data:text/html,<script>alert(1)</script>', 'data'],
    ['data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'data'],
    ['vbscript:msgbox(1)', 'vbscript'],
    ['ftp://files.example/x', 'ftp'],
    ['blob:https://cdn.example/1', 'blob'],
  ])('withholds %j, naming its scheme', (url, scheme) => {
    expect(shownLink(url)).toEqual({ url: null, removed: { reason: 'UnsafeScheme', scheme } });
  });

  it.each(['not a url', '/relative/path', '//cdn.example/x.jpg', 'http:cdn.example/x', 'https://cdn.example/a b', ' https://cdn.example/x', 'https://cdn\n.example/x', ''])(
    'withholds %j as malformed',
    (url) => {
      expect(shownLink(url)).toEqual({ url: null, removed: { reason: 'Malformed', scheme: null } });
    },
  );

  it('has nothing to withhold when there is no link', () => {
    expect(shownLink(null)).toEqual({ url: null, removed: null });
  });
});

describe('jsonNestsDeeperThan', () => {
  const nested = (depth: number, open = '[', close = ']'): Buffer => Buffer.from(`${open.repeat(depth)}${close.repeat(depth)}`);

  it('counts objects and arrays open at once', () => {
    expect(jsonNestsDeeperThan(nested(3), 3)).toBe(false);
    expect(jsonNestsDeeperThan(nested(4), 3)).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from('{"a":[{"b":[1]}],"c":{"d":{}}}'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('{"a":[{"b":[[1]]}]}'), 4)).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from('[[],[],[],[],[]]'), 2)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(Buffer.from('{"text":"[[[[{{{{"}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('{"text":"a \\" [[[[ \\\\","n":1}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('{"text":"\\\\"}'), 1)).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from('{"text":"\\\\",  "x":[[1]]}'), 2)).toBe(true);
  });

  it('reads a body nested a hundred thousand deep in one pass, without recursion', () => {
    expect(jsonNestsDeeperThan(nested(100_000, '{"a":', '}'), 64)).toBe(true);
  });
});

describe('allowHeader', () => {
  it('lists the methods once each, in order, with HEAD wherever GET is', () => {
    expect(allowHeader(['post', 'get', 'get'])).toBe('GET, HEAD, POST');
    expect(allowHeader(['post', 'delete'])).toBe('DELETE, POST');
  });
});
