/**
 * Requests so malformed that node's HTTP parser refuses them before Express sees them (a URL or headers larger
 * than node accepts, a broken request line): by default node answers them with a bare status and no body. Here they
 * get the API's error body like every other client mistake, naming what was wrong.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './errors';

interface ParserRefusal {
  status: number;
  type: string;
  message: string;
}

function refusalOf(code: string | undefined): ParserRefusal {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, type: 'HeadersTooLarge', message: 'the request line and headers are larger than this server accepts (16 KB); shorten the URL or the headers' };
  if (code === 'HPE_URI_TOO_LONG') return { status: 414, type: 'UriTooLong', message: 'the URL is longer than this server accepts' };
  return { status: 400, type: 'MalformedRequest', message: `the request is not valid HTTP/1.1 (${code ?? 'unreadable'})` };
}

/** Answers what node's parser refuses with a JSON error, then closes the connection (its stream is unusable). */
export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that went away, or a request already answered: nothing to say to it.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal = refusalOf(error.code);
    const body = JSON.stringify({ error: { type: refusal.type, message: refusal.message } } satisfies ErrorBody);
    const head = [`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}
