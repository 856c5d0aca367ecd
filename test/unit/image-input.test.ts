/** Images to send, judged by their bytes (src/outbound/image-input.ts), fetched from local servers only. */
import http from 'node:http';
import { isIP, type AddressInfo, type LookupFunction } from 'node:net';
import { MediaRejectedError } from '../../src/domain/errors';
import { mediaRefusalOf } from '../support/refusals';
import { sniffFileKind } from '../../src/domain/media';
import { fetchImage, forbiddenAddressRange, inspectImage, type ImageFetchNetwork } from '../../src/outbound/image-input';

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)))));

/** `header` followed by zeros up to `total` bytes. */
function padded(header: Uint8Array, total: number): Uint8Array {
  const file = new Uint8Array(total);
  file.set(header);
  return file;
}

const le32 = (value: number): number[] => [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff];

// Minimal but valid headers of each kind.
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF\0', [1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]);
const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR', [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
const ICO = bytes([0, 0, 1, 0, 1, 0], [16, 16, 0, 0, 1, 0, 32, 0], le32(40), le32(22), new Array<number>(40).fill(0));
const BMP = bytes('BM', le32(58), [0, 0, 0, 0], le32(54), le32(40), le32(1), le32(1), [1, 0, 24, 0], new Array<number>(24).fill(0), [0, 0, 0xff, 0]);
const GIF = bytes('GIF89a', [1, 0, 1, 0, 0, 0, 0], ';');
const WEBP = bytes('RIFF', le32(26), 'WEBPVP8 ', le32(14), new Array<number>(14).fill(0));
const HEIC = bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic');
const MP4 = bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0], 'isommp41');
const MOV = bytes([0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 2, 0], 'qt  ');
const WEBM = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm', [0x42, 0x87, 0x81, 0x04]);
const MKV = bytes([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88], 'matroska', [0x42, 0x87, 0x81, 0x04]);
const AVI = bytes('RIFF', le32(100), 'AVI LIST');
const OGG_VIDEO = bytes('OggS', [0, 2], new Array<number>(22).fill(0), [0x80], 'theora');
const OGG_AUDIO = bytes('OggS', [0, 2], new Array<number>(22).fill(0), [0x01], 'vorbis');
const MP3 = bytes('ID3', [4, 0, 0, 0, 0, 0, 0]);
const PDF = bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n');
const HTML = bytes('<!DOCTYPE html><html><body>Not found</body></html>');
const SVG = bytes('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>');

/** The refusal a promise ends with; fails the test when it succeeds or fails some other way. */
async function refusal(promise: Promise<unknown>): Promise<MediaRejectedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MediaRejectedError) return error;
    throw error;
  }
  throw new Error('expected the image to be refused');
}


describe('sniffFileKind', () => {
  it.each([
    ['AVIF', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'), { category: 'image', kind: 'avif' }],
    ['AVIF under a mif1 brand', bytes([0, 0, 0, 0x18], 'ftypmif1', [0, 0, 0, 0], 'mif1avif'), { category: 'image', kind: 'avif' }],
    ['TIFF', bytes('II*\0', [8, 0, 0, 0]), { category: 'image', kind: 'tiff' }],
    ['bare SVG', bytes('\xef\xbb\xbf  <svg viewBox="0 0 1 1"/>'), { category: 'image', kind: 'svg' }],
    ['M4A', bytes([0, 0, 0, 0x18], 'ftypM4A ', [0, 0, 0, 0], 'M4A isom'), { category: 'audio', kind: 'm4a' }],
    ['WAV', bytes('RIFF', le32(36), 'WAVEfmt '), { category: 'audio', kind: 'wav' }],
    ['FLAC', bytes('fLaC', [0, 0, 0, 34]), { category: 'audio', kind: 'flac' }],
    ['AAC', bytes([0xff, 0xf1, 0x50, 0x80]), { category: 'audio', kind: 'aac' }],
    ['ZIP', bytes('PK\x03\x04', [20, 0]), { category: 'other', kind: 'zip' }],
    ['GZIP', bytes([0x1f, 0x8b, 8, 0]), { category: 'other', kind: 'gzip' }],
    ['XML', bytes('<?xml version="1.0"?><order/>'), { category: 'other', kind: 'xml' }],
    ['HTML after a byte order mark', bytes('\xef\xbb\xbf\n<html><body></body></html>'), { category: 'other', kind: 'html' }],
  ])('recognises %s', (_label, file, expected) => {
    expect(sniffFileKind(file)).toEqual(expected);
  });

  it('names nothing it does not know', () => {
    expect(sniffFileKind(bytes('plain text, not a file format'))).toBeUndefined();
    expect(sniffFileKind(new Uint8Array())).toBeUndefined();
  });
});

describe('inspectImage', () => {
  it.each([
    ['JPG', JPEG, 'jpeg', 'image/jpeg'],
    ['PNG', PNG, 'png', 'image/png'],
    ['ICO', ICO, 'ico', 'image/x-icon'],
    ['BMP', BMP, 'bmp', 'image/bmp'],
  ])('accepts a %s image', (_label, file, kind, contentType) => {
    expect(inspectImage(file)).toEqual({ kind, bytes: file, size: file.length, contentType });
  });

  it.each([
    ['GIF', GIF],
    ['WebP', WEBP],
    ['HEIC', HEIC],
    ['SVG', SVG],
  ])('refuses a %s image, naming it and what is accepted', (label, file) => {
    const error = mediaRefusalOf(() => inspectImage(file));
    expect(error.reason).toBe('unsupported_type');
    expect(error.message).toBe(`the file is a ${label} image; Instagram accepts JPG, PNG, ICO or BMP images`);
  });

  it.each([
    ['MP4', MP4],
    ['MOV', MOV],
    ['WebM', WEBM],
    ['MKV', MKV],
    ['AVI', AVI],
    ['OGG', OGG_VIDEO],
  ])('refuses a %s video', (label, file) => {
    const error = mediaRefusalOf(() => inspectImage(file));
    expect(error.reason).toBe('video_not_supported');
    expect(error.message).toBe(`the file is a video (${label}): videos cannot be sent`);
  });

  it.each([
    ['a PDF', PDF, '25 50 44 46: PDF'],
    ['an HTML page', HTML, '3C 21 44 4F: HTML'],
    ['an MP3', MP3, '49 44 33 04: MP3 audio'],
    ['an Ogg Vorbis file', OGG_AUDIO, '4F 67 67 53: OGG audio'],
    ['bytes of no known kind', bytes([0x00, 0x11, 0x22, 0x33, 0x44]), '00 11 22 33'],
    ['a file shorter than four bytes', bytes([0xff, 0xd8]), 'FF D8'],
  ])('refuses %s as not an image, showing its first bytes', (_label, file, found) => {
    const error = mediaRefusalOf(() => inspectImage(file));
    expect(error.reason).toBe('unsupported_type');
    expect(error.message).toBe(`the file is not an image (first bytes ${found}); Instagram accepts JPG, PNG, ICO or BMP images`);
  });

  it('refuses an empty file', () => {
    expect(mediaRefusalOf(() => inspectImage(new Uint8Array())).message).toBe('the file is empty; Instagram accepts JPG, PNG, ICO or BMP images');
  });

  it('accepts exactly 8,000,000 bytes and refuses more, with the numbers', () => {
    expect(inspectImage(padded(PNG, 8_000_000)).size).toBe(8_000_000);
    const error = mediaRefusalOf(() => inspectImage(padded(JPEG, 9_214_332)));
    expect(error.reason).toBe('too_large');
    expect(error.message).toBe('the image is 9,214,332 bytes; Instagram accepts at most 8,000,000 (8 MB)');
    expect(error.toJSON()).toMatchObject({ type: 'MediaRejected', reason: 'too_large', retryable: false });
  });
});

interface TestServer {
  server: http.Server;
  /** Paths asked for, in order. */
  requests: string[];
  url(path: string): string;
  close(): Promise<void>;
}

async function startServer(handler: http.RequestListener, host = '127.0.0.1'): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    requests,
    url: (path) => `http://${host}:${port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serve(file: Uint8Array, contentType: string): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': file.length });
    res.end(file);
  };
}

/** Sends `file` in 64 KB chunks without a Content-Length, so only counting the bytes reveals the size. */
function stream(file: Uint8Array): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    for (let offset = 0; offset < file.length; offset += 65_536) res.write(file.subarray(offset, offset + 65_536));
    res.end();
  };
}

/** What the endless server saw: how much it wrote, whether it got to the end, and when the client hung up. */
interface EndlessOutcome {
  written: number;
  finished: boolean;
  closed: Promise<void>;
}

const ENDLESS_TOTAL = 64 * 1024 * 1024;
let endless: EndlessOutcome | undefined;

/** Streams 64 MB of "JPEG", honouring back-pressure, until it is done or the client closes the connection. */
const endlessImage: http.RequestListener = (_req, res) => {
  const outcome: EndlessOutcome = { written: 0, finished: false, closed: new Promise((resolve) => res.on('close', resolve)) };
  endless = outcome;
  res.writeHead(200, { 'content-type': 'image/jpeg' });
  const chunk = padded(JPEG, 65_536);
  const pump = (): void => {
    while (outcome.written < ENDLESS_TOTAL) {
      if (res.destroyed) return;
      const flushed = res.write(chunk);
      outcome.written += chunk.length;
      if (!flushed) {
        res.once('drain', pump);
        return;
      }
    }
    outcome.finished = true;
    res.end();
  };
  pump();
};

const REDIRECT_CODES = [301, 302, 303, 307, 308];

const routes: Record<string, http.RequestListener> = {
  '/jpeg': serve(JPEG, 'image/jpeg'),
  '/png': serve(PNG, 'image/png'),
  '/ico': serve(ICO, 'image/vnd.microsoft.icon'),
  '/bmp': serve(BMP, 'application/octet-stream'),
  '/gif': serve(GIF, 'image/gif'),
  '/webp': serve(WEBP, 'image/webp'),
  '/mp4': serve(MP4, 'video/mp4'),
  '/webm': serve(WEBM, 'video/webm'),
  '/pdf': serve(PDF, 'application/pdf'),
  '/html': serve(HTML, 'text/html'),
  '/photo.jpg': serve(GIF, 'image/jpeg'), // a GIF that claims to be a JPG by its type and its name
  '/page.html': serve(PNG, 'text/html; charset=utf-8'), // a PNG served as a web page
  '/exactly-8mb': stream(padded(JPEG, 8_000_000)),
  '/one-byte-over': stream(padded(JPEG, 8_000_001)),
  '/endless': endlessImage,
  '/announced-9mb': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 9_000_000 });
    res.write(padded(JPEG, 1024)); // and never the rest: only the header can have refused it
  },
  '/hang': () => undefined,
  '/hang-in-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 10_000 });
    res.write(padded(JPEG, 1000));
  },
  '/server-error': (_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('boom');
  },
  '/no-location': (_req, res) => {
    res.writeHead(302);
    res.end();
  },
  '/to-absolute-png': (req, res) => {
    res.writeHead(302, { location: `http://${req.headers.host ?? ''}/png` });
    res.end();
  },
};

/** `/hops/N` redirects N times (relative locations, every redirect status) before the image; `/to?location=` once. */
function testSite(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://test');
  const hops = /^\/hops\/(\d+)$/.exec(url.pathname);
  if (hops) {
    const left = Number(hops[1]);
    if (left === 0) return serve(JPEG, 'image/jpeg')(req, res);
    res.writeHead(REDIRECT_CODES[left % REDIRECT_CODES.length]!, { location: `/hops/${left - 1}` });
    res.end();
    return;
  }
  if (url.pathname === '/to') {
    res.writeHead(302, { location: url.searchParams.get('location') ?? '/' });
    res.end();
    return;
  }
  const route = routes[url.pathname];
  if (route) return route(req, res);
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('no such image');
}

/** A resolver answering from a table, so names resolve without any real DNS. */
function fakeDns(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    setImmediate(() => {
      const addresses = table[hostname];
      if (addresses === undefined) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      const entries = addresses.map((address) => ({ address, family: isIP(address) }));
      if (options.all) callback(null, entries);
      else callback(null, entries[0]!.address, entries[0]!.family);
    });
  };
}

/** The public internet as far as these tests go: 127.0.0.1 plays a public server; every other rule is the real one. */
const loopbackAsPublic: ImageFetchNetwork = {
  lookup: fakeDns({
    'public.test': ['127.0.0.1'],
    'internal.test': ['127.0.0.2'],
    'half-internal.test': ['127.0.0.1', '10.0.0.1'],
  }),
  forbiddenRange: (address) => (address === '127.0.0.1' ? undefined : forbiddenAddressRange(address)),
};

describe('fetchImage', () => {
  let site: TestServer;
  let internal: TestServer;
  const allowPrivate = { timeoutMs: 10_000, allowPrivateNetwork: true };
  const publicOnly = { timeoutMs: 10_000, allowPrivateNetwork: false };

  beforeAll(async () => {
    site = await startServer(testSite);
    // Another loopback address, standing for a machine inside the engine's network.
    internal = await startServer(serve(JPEG, 'image/jpeg'), '127.0.0.2');
  });

  afterAll(async () => {
    await site.close();
    await internal.close();
  });

  describe('what the bytes are', () => {
    it.each([
      ['/jpeg', 'jpeg', 'image/jpeg', JPEG],
      ['/png', 'png', 'image/png', PNG],
      ['/ico', 'ico', 'image/x-icon', ICO],
      ['/bmp', 'bmp', 'image/bmp', BMP],
    ])('accepts %s', async (path, kind, contentType, file) => {
      const image = await fetchImage(site.url(path), allowPrivate);
      expect(image.kind).toBe(kind);
      expect(image.contentType).toBe(contentType);
      expect(image.size).toBe(file.length);
      expect(Buffer.from(image.bytes).equals(Buffer.from(file))).toBe(true);
    });

    it.each([
      ['/gif', 'unsupported_type', 'the file is a GIF image'],
      ['/webp', 'unsupported_type', 'the file is a WebP image'],
      ['/mp4', 'video_not_supported', 'the file is a video (MP4): videos cannot be sent'],
      ['/webm', 'video_not_supported', 'the file is a video (WebM): videos cannot be sent'],
      ['/pdf', 'unsupported_type', 'the file is not an image (first bytes 25 50 44 46: PDF)'],
      ['/html', 'unsupported_type', 'the file is not an image (first bytes 3C 21 44 4F: HTML)'],
    ])('refuses %s, saying what it found', async (path, reason, found) => {
      const error = await refusal(fetchImage(site.url(path), allowPrivate));
      expect(error.reason).toBe(reason);
      expect(error.message).toContain(found);
    });

    it('believes the bytes, not the Content-Type or the file name', async () => {
      const error = await refusal(fetchImage(site.url('/photo.jpg'), allowPrivate));
      expect(error.message).toBe('the file is a GIF image; Instagram accepts JPG, PNG, ICO or BMP images');
      const image = await fetchImage(site.url('/page.html'), allowPrivate);
      expect(image).toMatchObject({ kind: 'png', contentType: 'image/png' });
    });
  });

  describe('size', () => {
    it('accepts exactly 8,000,000 bytes streamed without a length', async () => {
      const image = await fetchImage(site.url('/exactly-8mb'), allowPrivate);
      expect(image.size).toBe(8_000_000);
    });

    it('refuses 8,000,001 bytes streamed without a length', async () => {
      const error = await refusal(fetchImage(site.url('/one-byte-over'), allowPrivate));
      expect(error.reason).toBe('too_large');
      expect(error.message).toBe('the image is larger than 8,000,000 bytes; Instagram accepts at most 8,000,000 (8 MB)');
    });

    it('stops downloading as soon as the limit is passed', async () => {
      const error = await refusal(fetchImage(site.url('/endless'), allowPrivate));
      expect(error.reason).toBe('too_large');
      const outcome = endless!;
      await outcome.closed; // the server sees the client hang up...
      expect(outcome.finished).toBe(false); // ...before it could send all 64 MB
      expect(outcome.written).toBeLessThan(ENDLESS_TOTAL);
    });

    it('refuses on an announced Content-Length without waiting for the body', async () => {
      // The server never sends the rest, so waiting for it would end in a timeout, not in this refusal.
      const error = await refusal(fetchImage(site.url('/announced-9mb'), allowPrivate));
      expect(error.reason).toBe('too_large');
      expect(error.message).toBe('the image is 9,000,000 bytes; Instagram accepts at most 8,000,000 (8 MB)');
    });

    it('applies a smaller maxBytes when given one', async () => {
      const error = await refusal(fetchImage(site.url('/exactly-8mb'), { ...allowPrivate, maxBytes: 100_000 }));
      expect(error.message).toBe('the image is larger than 100,000 bytes; at most 100,000 bytes are fetched');
    });
  });

  describe('failures', () => {
    it('times out on a server that never answers', async () => {
      const error = await refusal(fetchImage(site.url('/hang'), { timeoutMs: 300, allowPrivateNetwork: true }));
      expect(error.reason).toBe('fetch_timeout');
      expect(error.message).toMatch(/^no complete answer from 127\.0\.0\.1:\d+ within 300 ms$/);
    });

    it('times out on a body that stops coming: the time limit covers the whole download', async () => {
      const error = await refusal(fetchImage(site.url('/hang-in-body'), { timeoutMs: 300, allowPrivateNetwork: true }));
      expect(error.reason).toBe('fetch_timeout');
    });

    it.each([
      ['/missing', 'answered HTTP 404 Not Found'],
      ['/server-error', 'answered HTTP 500 Internal Server Error'],
      ['/no-location', 'answered HTTP 302 Found'],
    ])('refuses %s, naming the status', async (path, problem) => {
      const error = await refusal(fetchImage(site.url(path), allowPrivate));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toContain(problem);
    });

    it('names a refused connection', async () => {
      const closed = await startServer(() => undefined);
      const url = closed.url('/jpeg');
      await closed.close();
      const error = await refusal(fetchImage(url, allowPrivate));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toMatch(/the connection to 127\.0\.0\.1:\d+ was refused/);
    });

    it('names a name that does not resolve', async () => {
      const error = await refusal(fetchImage('http://nowhere.test/a.jpg', publicOnly, loopbackAsPublic));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toBe('the image could not be fetched: the name nowhere.test could not be resolved');
    });

    it.each([
      ['file:///etc/passwd', 'file:'],
      ['ftp://example.com/photo.jpg', 'ftp:'],
      ['data:image/png;base64,iVBORw0KGgo=', 'data:'],
      ['javascript:alert(1)', 'javascript:'],
    ])('refuses the URL %s by its scheme', async (url, scheme) => {
      const error = await refusal(fetchImage(url, allowPrivate));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toBe(`the image could not be fetched: only http: and https: URLs can be fetched, not ${scheme}`);
    });

    it('refuses what is not a URL', async () => {
      expect((await refusal(fetchImage('photo.jpg', allowPrivate))).message).toContain('not a valid URL');
    });
  });

  describe('redirects', () => {
    it('follows up to three redirects, relative or absolute', async () => {
      expect((await fetchImage(site.url('/hops/3'), allowPrivate)).kind).toBe('jpeg');
      expect((await fetchImage(site.url('/to-absolute-png'), allowPrivate)).kind).toBe('png');
    });

    it('refuses a fourth redirect', async () => {
      const error = await refusal(fetchImage(site.url('/hops/4'), allowPrivate));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toMatch(/redirected more than 3 times/);
    });

    it('honours a lower maxRedirects', async () => {
      await expect(fetchImage(site.url('/hops/1'), { ...allowPrivate, maxRedirects: 1 })).resolves.toMatchObject({ kind: 'jpeg' });
      expect((await refusal(fetchImage(site.url('/hops/1'), { ...allowPrivate, maxRedirects: 0 }))).message).toMatch(/more than 0 times/);
    });

    it('checks the scheme of every hop', async () => {
      const error = await refusal(fetchImage(site.url('/to?location=file:///etc/passwd'), allowPrivate));
      expect(error.message).toContain('only http: and https: URLs can be fetched, not file:');
    });

    it('refuses a redirect to a forbidden address literal', async () => {
      const url = `http://public.test:${new URL(site.url('/')).port}/to?location=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`;
      const error = await refusal(fetchImage(url, publicOnly, loopbackAsPublic));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toContain('169.254.169.254 is a link-local (169.254.0.0/16) address');
    });

    it('refuses a redirect to a name that resolves to a forbidden address, without connecting to it', async () => {
      const internalUrl = internal.url('/jpeg').replace('127.0.0.2', 'internal.test');
      const url = `http://public.test:${new URL(site.url('/')).port}/to?location=${encodeURIComponent(internalUrl)}`;
      const before = internal.requests.length;
      const error = await refusal(fetchImage(url, publicOnly, loopbackAsPublic));
      expect(error.message).toContain('refused to connect to internal.test: 127.0.0.2 is a loopback (127.0.0.0/8) address');
      expect(internal.requests.length).toBe(before);
    });
  });

  describe('private network', () => {
    it('reaches a public address, by name, when private ones are refused', async () => {
      const url = site.url('/png').replace('127.0.0.1', 'public.test');
      await expect(fetchImage(url, publicOnly, loopbackAsPublic)).resolves.toMatchObject({ kind: 'png' });
    });

    it('refuses a name when any of its addresses is forbidden', async () => {
      const url = site.url('/png').replace('127.0.0.1', 'half-internal.test');
      const error = await refusal(fetchImage(url, publicOnly, loopbackAsPublic));
      expect(error.message).toContain('10.0.0.1 is a private (10.0.0.0/8) address');
    });

    it('reaches the same server when private addresses are allowed', async () => {
      await expect(fetchImage(site.url('/jpeg'), allowPrivate)).resolves.toMatchObject({ kind: 'jpeg' });
      const port = new URL(site.url('/')).port;
      await expect(fetchImage(`http://localhost:${port}/jpeg`, allowPrivate)).resolves.toMatchObject({ kind: 'jpeg' });
    });

    // The real rules and the real resolver: each of these is refused before any connection is made.
    it.each([
      ['127.0.0.1', (port: string) => `http://127.0.0.1:${port}/jpeg`, 'loopback (127.0.0.0/8)'],
      ['localhost', (port: string) => `http://localhost:${port}/jpeg`, 'loopback'],
      ['[::1]', (port: string) => `http://[::1]:${port}/jpeg`, 'loopback (::1/128)'],
      ['10.0.0.1', () => 'http://10.0.0.1/photo.jpg', 'private (10.0.0.0/8)'],
      ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', 'link-local (169.254.0.0/16)'],
      ['0.0.0.0', (port: string) => `http://0.0.0.0:${port}/jpeg`, '"this network" (0.0.0.0/8)'],
      ['::ffff:127.0.0.1', (port: string) => `http://[::ffff:127.0.0.1]:${port}/jpeg`, 'IPv4-mapped (::ffff:0:0/96) form of a loopback (127.0.0.0/8)'],
      ['127.0.0.1 written as one number', (port: string) => `http://2130706433:${port}/jpeg`, 'loopback (127.0.0.0/8)'],
      ['fd00::1', () => 'http://[fd00::1]/photo.jpg', 'unique local (fc00::/7)'],
      ['fe80::1', () => 'http://[fe80::1]/photo.jpg', 'link-local (fe80::/10)'],
      ['100.64.0.1', () => 'http://100.64.0.1/photo.jpg', 'carrier-grade NAT (100.64.0.0/10)'],
    ])('refuses %s', async (_label, makeUrl, range) => {
      const before = site.requests.length;
      const error = await refusal(fetchImage(makeUrl(new URL(site.url('/')).port), { timeoutMs: 5_000, allowPrivateNetwork: false }));
      expect(error.reason).toBe('fetch_failed');
      expect(error.message).toContain(range);
      expect(site.requests.length).toBe(before);
    });
  });
});

describe('forbiddenAddressRange', () => {
  it.each([
    '0.0.0.0', '0.1.2.3', '10.255.255.255', '100.64.0.0', '100.127.255.255', '127.0.0.1', '127.255.255.254',
    '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.0.0.8', '192.0.2.1', '192.168.1.1', '198.18.0.1',
    '198.51.100.7', '203.0.113.9', '224.0.0.251', '239.255.255.250', '240.0.0.1', '255.255.255.255',
    '::', '::1', '::127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a00:1', '::ffff:169.254.169.254',
    '64:ff9b::a00:1', '64:ff9b::127.0.0.1', '64:ff9b:1::1', '2002:7f00:1::1', '2002:a9fe:a9fe::', '2001::1',
    '2001:db8::1', 'fc00::1', 'fd12:3456:789a::1', 'fe80::1', 'febf::1', 'fec0::1', 'ff02::1', '100::1', '3fff::1',
    'fe80::1%eth0', '4000::1', 'localhost', '',
  ])('refuses %p', (address) => {
    expect(forbiddenAddressRange(address)).toEqual(expect.any(String));
  });

  it.each([
    '8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255',
    '192.169.0.0', '223.255.255.255', '2606:4700:4700::1111', '2a03:2880:f12f:83:face:b00c:0:25de',
    '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1', '2001:4860:4860::8888',
  ])('allows the public address %p', (address) => {
    expect(forbiddenAddressRange(address)).toBeUndefined();
  });
});
