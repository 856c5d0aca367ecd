/** Multipart image uploads (src/api/multipart.ts), through a tiny express app and real HTTP requests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { createErrorHandler } from '../../src/api/errors';
import { readMultipartUpload, type MultipartLimits, type MultipartUpload } from '../../src/api/multipart';
import { createLogger } from '../../src/logger';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);
const BOUNDARY = '----test-boundary-7MA4YWxkTrZu0gW';

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  content: string | Buffer;
}

/** A multipart/form-data body written by hand, so malformed and unusual ones can be sent too. */
function multipartBody(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.contentType === undefined ? '' : `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(part.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const imagePart = (content: Buffer = JPEG, filename = 'photo.jpg'): Part => ({ name: 'image', filename, contentType: 'image/jpeg', content });

/** An app with one upload route; it keeps what the helper returned, and whether the body was all read at a refusal. */
function uploadApp(limits: MultipartLimits) {
  const observed: { upload?: MultipartUpload; completeAtRefusal?: boolean } = {};
  const app = express();
  app.post('/upload', async (req, res) => {
    try {
      observed.upload = await readMultipartUpload(req, limits);
    } catch (error) {
      observed.completeAtRefusal = req.complete;
      throw error;
    }
    res.json({ ok: true });
  });
  app.use(createErrorHandler(createLogger({ write: () => undefined })));
  return { app, observed };
}

const limits: MultipartLimits = { maxFileBytes: 1000, maxFields: 3, maxFieldBytes: 100 };

function postMultipart(app: express.Express, body: Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`) {
  return request(app).post('/upload').set('content-type', contentType).send(body);
}

describe('readMultipartUpload: accepted uploads', () => {
  it('reads the image and the text fields', async () => {
    const { app, observed } = uploadApp(limits);
    const response = await request(app)
      .post('/upload')
      .field('caption', 'Your order, as promised')
      .field('note', '안녕하세요 👋')
      .attach('image', JPEG, { filename: 'photo.jpg', contentType: 'image/jpeg' });
    expect(response.status).toBe(200);
    expect(observed.upload?.fields).toEqual({ caption: 'Your order, as promised', note: '안녕하세요 👋' });
    expect(observed.upload?.file?.filename).toBe('photo.jpg');
    expect(observed.upload?.file?.declaredType).toBe('image/jpeg');
    expect(Buffer.from(observed.upload!.file!.bytes).equals(JPEG)).toBe(true);
  });

  it('decodes a UTF-8 file name', async () => {
    const { app, observed } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([imagePart(JPEG, '사진 🙂.jpg')]));
    expect(response.status).toBe(200);
    expect(observed.upload?.file?.filename).toBe('사진 🙂.jpg');
  });

  it('reads text fields alone, with no file', async () => {
    const { app, observed } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: 'text', content: 'hello' }]));
    expect(response.status).toBe(200);
    expect(observed.upload).toEqual({ fields: { text: 'hello' } });
  });

  it('takes the empty file input a browser sends when no file was chosen as no file', async () => {
    const { app, observed } = uploadApp(limits);
    const body = multipartBody([{ name: 'text', content: 'hi' }, { name: 'image', filename: '', contentType: 'application/octet-stream', content: '' }]);
    const response = await postMultipart(app, body);
    expect(response.status).toBe(200);
    expect(observed.upload).toEqual({ fields: { text: 'hi' } });
  });

  it('accepts a file of exactly the limit', async () => {
    const { app, observed } = uploadApp(limits);
    const file = Buffer.concat([JPEG, Buffer.alloc(1000 - JPEG.length, 7)]);
    const response = await postMultipart(app, multipartBody([imagePart(file)]));
    expect(response.status).toBe(200);
    expect(observed.upload?.file?.bytes.length).toBe(1000);
  });

  it('accepts a field of exactly its limit and the maximum number of fields', async () => {
    const { app, observed } = uploadApp(limits);
    const body = multipartBody([
      { name: 'a', content: 'x'.repeat(100) },
      { name: 'b', content: '' },
      { name: 'c', content: 'z' },
    ]);
    const response = await postMultipart(app, body);
    expect(response.status).toBe(200);
    expect(observed.upload?.fields.a).toHaveLength(100);
  });

  it('keeps a field named __proto__ as a plain field', async () => {
    const { app, observed } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: '__proto__', content: 'polluted?' }]));
    expect(response.status).toBe(200);
    const fields = observed.upload!.fields;
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('polluted?');
  });
});

describe('readMultipartUpload: refusals', () => {
  it('refuses a file one byte over the limit with 413, naming the limit', async () => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([imagePart(Buffer.alloc(1001, 1))]));
    expect(response.status).toBe(413);
    expect(response.body.error).toEqual({ type: 'PayloadTooLarge', message: 'an uploaded file may be at most 1,000 bytes; the file is larger than that' });
  });

  it('refuses a body announced larger than any upload before reading it', async () => {
    const { app, observed } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([imagePart(Buffer.alloc(2_000_000, 1))]));
    expect(response.status).toBe(413);
    expect(response.body.error.message).toMatch(/^an uploaded file may be at most 1,000 bytes; the request is 2,000,\d{3} bytes$/);
    expect(observed.completeAtRefusal).toBe(false);
  });

  it('stops parsing an oversized file sent without a length, long before its end', async () => {
    const { app, observed } = uploadApp(limits);
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = multipartBody([imagePart(Buffer.alloc(4_000_000, 1))]);
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/upload', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'transfer-encoding': 'chunked' } });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        for (let offset = 0; offset < body.length; offset += 65_536) req.write(body.subarray(offset, offset + 65_536));
        req.end();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text).error.message).toContain('at most 1,000 bytes');
      expect(observed.completeAtRefusal).toBe(false); // refused while most of the 4 MB had not been read
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a second file', async () => {
    const { app } = uploadApp(limits);
    const response = await request(app)
      .post('/upload')
      .attach('image', JPEG, { filename: 'a.jpg', contentType: 'image/jpeg' })
      .attach('image', JPEG, { filename: 'b.jpg', contentType: 'image/jpeg' });
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ type: 'InvalidUpload', message: 'only one file can be uploaded, in the field "image"' });
  });

  it('refuses a file in another field, naming it', async () => {
    const { app } = uploadApp(limits);
    const response = await request(app).post('/upload').attach('photo', JPEG, { filename: 'a.jpg', contentType: 'image/jpeg' });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('unexpected file field "photo": send the image in the field "image"');
  });

  it('refuses "image" sent as text', async () => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: 'image', content: 'https://example.com/a.jpg' }]));
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('the field "image" must be a file, not text');
  });

  it('refuses a repeated field', async () => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: 'text', content: 'one' }, { name: 'text', content: 'two' }]));
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('the field "text" is given more than once');
  });

  it('refuses more fields than allowed, naming the limit', async () => {
    const { app } = uploadApp(limits);
    const body = multipartBody(['a', 'b', 'c', 'd'].map((name) => ({ name, content: name })));
    const response = await postMultipart(app, body);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('more than 3 text fields; at most 3 are accepted');
  });

  it('refuses a field over its limit with 413', async () => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: 'text', content: 'x'.repeat(101) }]));
    expect(response.status).toBe(413);
    expect(response.body.error.message).toBe('the field "text" is longer than 100 bytes, the most a field may be');
  });

  it.each([
    ['a body cut off before its closing boundary', Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhel`), 'Unexpected end of form'],
    ['a file cut off in the middle', Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n\xff\xd8\xff`), 'Unexpected end of'],
    ['a part with a malformed header', Buffer.from(`--${BOUNDARY}\r\nnot a header\r\n\r\nvalue\r\n--${BOUNDARY}--\r\n`), 'Malformed part header'],
  ])('refuses %s as malformed', async (_label, body, problem) => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, body);
    expect(response.status).toBe(400);
    expect(response.body.error.type).toBe('MalformedMultipart');
    expect(response.body.error.message).toContain(problem);
  });

  it('refuses a multipart type without a boundary', async () => {
    const { app } = uploadApp(limits);
    const response = await postMultipart(app, multipartBody([{ name: 'text', content: 'hi' }]), 'multipart/form-data');
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('the multipart body is malformed: Multipart: Boundary not found');
  });

  it.each([
    ['JSON', 'application/json', 'application/json'],
    ['a urlencoded form', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
  ])('refuses %s with 415', async (_label, contentType, named) => {
    const { app } = uploadApp(limits);
    const response = await request(app).post('/upload').set('content-type', contentType).send('{"text":"hi"}');
    expect(response.status).toBe(415);
    expect(response.body.error).toEqual({ type: 'UnsupportedMediaType', message: `expected a multipart/form-data body, got ${named}` });
  });

  it('refuses a body without a Content-Type with 415', async () => {
    const { app } = uploadApp(limits);
    const response = await request(app).post('/upload');
    expect(response.status).toBe(415);
    expect(response.body.error.message).toBe('expected a multipart/form-data body, got no Content-Type');
  });
});
