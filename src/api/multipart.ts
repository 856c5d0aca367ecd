/** Reads a multipart/form-data upload (one image in the field "image", plus text fields) within firm limits. */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { HttpError } from './errors';
import type { MultipartParser } from './route-definitions';

/** The only file field an upload may have. */
export const UPLOAD_FILE_FIELD = 'image';

/** Text fields are short (a caption, an id): this keeps one field from holding a file's worth of bytes. */
const DEFAULT_MAX_FIELD_BYTES = 64 * 1024;

/** Room for each part's boundary and headers (a long file name included) when judging a declared body size. */
const PART_OVERHEAD_BYTES = 16 * 1024;

export interface MultipartLimits {
  maxFileBytes: number;
  maxFields: number;
  maxFieldBytes?: number;
}

export interface UploadedFile {
  bytes: Uint8Array;
  filename: string;
  /** What the client said the file is; only the bytes decide what it really is. */
  declaredType: string;
}

export interface MultipartUpload {
  fields: Record<string, string>;
  file?: UploadedFile;
}

/**
 * Parses `req` as multipart/form-data. Refuses with an HttpError: 415 when the body is not multipart, 413 when the
 * file or a field is over its limit (the body is then read no further than needed), 400 for a second file, a file
 * in another field than "image", a repeated field, too many fields or a malformed body.
 */
export function readMultipartUpload(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartUpload> {
  const maxFieldBytes = limits.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const contentType = req.headers['content-type'];
  if (contentType === undefined || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) {
    return Promise.reject(new HttpError(415, 'UnsupportedMediaType', `expected a multipart/form-data body, got ${contentType ?? 'no Content-Type'}`));
  }
  // A body announced bigger than any acceptable upload is refused before a byte of it is read.
  const maxBodyBytes = limits.maxFileBytes + limits.maxFields * maxFieldBytes + (limits.maxFields + 1) * PART_OVERHEAD_BYTES;
  const declaredBytes = Number(req.headers['content-length']);
  if (Number.isFinite(declaredBytes) && declaredBytes > maxBodyBytes) {
    return Promise.reject(fileTooLarge(limits.maxFileBytes, `the request is ${formatCount(declaredBytes)} bytes`));
  }

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8', // file names as browsers send them, not Latin-1
      // One byte over each limit: busboy reports a value of exactly the limit as cut off.
      limits: { fileSize: limits.maxFileBytes + 1, fields: limits.maxFields, fieldSize: maxFieldBytes + 1 },
    });
  } catch (error) {
    return Promise.reject(malformed(error));
  }

  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let file: UploadedFile | undefined;
    let fileParts = 0;
    let settled = false;

    const refuse = (error: HttpError): void => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      // Discard the rest without keeping it, so the client reads the refusal instead of a reset connection.
      req.resume();
      reject(error);
    };

    parser.on('file', (name, stream, info) => {
      stream.on('error', (error) => refuse(malformed(error)));
      if (name !== UPLOAD_FILE_FIELD) {
        stream.resume();
        refuse(invalidUpload(`unexpected file field "${name}": send the image in the field "${UPLOAD_FILE_FIELD}"`));
        return;
      }
      if (file !== undefined) {
        stream.resume();
        refuse(tooManyFiles());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
      });
      stream.on('limit', () => refuse(fileTooLarge(limits.maxFileBytes)));
      stream.on('end', () => {
        // A browser's empty file input sends a part with no name and no bytes: no file was chosen.
        if (size === 0 && !info.filename) return;
        fileParts += 1;
        // Checked here too: the next part can begin before this one's end has been read.
        if (fileParts > 1) {
          refuse(tooManyFiles());
          return;
        }
        file = { bytes: Buffer.concat(chunks, size), filename: info.filename ?? '', declaredType: info.mimeType };
      });
    });

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        refuse(new HttpError(413, 'PayloadTooLarge', `the field "${name}" is longer than ${formatCount(maxFieldBytes)} bytes, the most a field may be`));
      } else if (name === UPLOAD_FILE_FIELD) {
        refuse(invalidUpload(`the field "${UPLOAD_FILE_FIELD}" must be a file, not text`));
      } else if (fields.has(name)) {
        refuse(invalidUpload(`the field "${name}" is given more than once`));
      } else {
        fields.set(name, value);
      }
    });

    parser.on('fieldsLimit', () => refuse(invalidUpload(`more than ${limits.maxFields} text fields; at most ${limits.maxFields} are accepted`)));
    parser.on('error', (error) => refuse(malformed(error)));
    req.on('error', () => refuse(new HttpError(400, 'RequestAborted', 'the client aborted the request')));

    parser.on('close', () => {
      if (settled) return;
      settled = true;
      // fromEntries makes own properties, so a field named "__proto__" is just a field.
      resolve({ fields: Object.fromEntries(fields), ...(file ? { file } : {}) });
    });

    req.pipe(parser);
  });
}

function fileTooLarge(maxFileBytes: number, evidence?: string): HttpError {
  const found = evidence === undefined ? 'the file is larger than that' : evidence;
  return new HttpError(413, 'PayloadTooLarge', `an uploaded file may be at most ${formatCount(maxFileBytes)} bytes; ${found}`);
}

function tooManyFiles(): HttpError {
  return invalidUpload(`only one file can be uploaded, in the field "${UPLOAD_FILE_FIELD}"`);
}

function invalidUpload(message: string): HttpError {
  return new HttpError(400, 'InvalidUpload', message);
}

function malformed(error: unknown): HttpError {
  const problem = error instanceof Error ? error.message : String(error);
  return new HttpError(400, 'MalformedMultipart', `the multipart body is malformed: ${problem}`);
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** The route layer's multipart parser: one file, in the field "image", within the size the route declares. */
export const parseMultipartBody: MultipartParser = async (req, spec) => {
  const maxFileBytes = spec.files[UPLOAD_FILE_FIELD]?.maxBytes ?? 0;
  const upload = await readMultipartUpload(req, { maxFileBytes, maxFields: Object.keys(spec.fields.shape).length });
  return {
    fields: upload.fields,
    files: upload.file ? [{ fieldName: UPLOAD_FILE_FIELD, filename: upload.file.filename, mediaType: upload.file.declaredType, data: Buffer.from(upload.file.bytes) }] : [],
  };
};
