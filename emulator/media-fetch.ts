/**
 * How the Send API fetches the attachment URL it is given: a real HTTP GET with a time limit, reading at most
 * `maxBytes` + 1 bytes so an oversized file is recognised without downloading all of it.
 */
export type MediaFetchResult =
  | { ok: true; bytes: Buffer; contentType: string | null }
  | { ok: false; reason: 'fetch_failed' | 'too_large'; detail: string };

export async function fetchMedia(
  url: string,
  options: { maxBytes: number; timeoutMs: number; fetchImpl?: typeof fetch },
): Promise<MediaFetchResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'fetch_failed', detail: 'not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, reason: 'fetch_failed', detail: `unsupported scheme ${parsed.protocol}` };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    const response = await (options.fetchImpl ?? fetch)(parsed, { signal: controller.signal, redirect: 'follow' });
    if (!response.ok || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: 'fetch_failed', detail: `HTTP ${response.status}` };
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body.cancel().catch(() => undefined);
      return { ok: false, reason: 'too_large', detail: `${declared} bytes declared` };
    }
    const chunks: Buffer[] = [];
    let total = 0;
    // Leaving the loop early cancels the stream, so an oversized file is not downloaded to the end.
    for await (const value of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += value.byteLength;
      if (total > options.maxBytes) return { ok: false, reason: 'too_large', detail: `more than ${options.maxBytes} bytes` };
      chunks.push(Buffer.from(value));
    }
    return { ok: true, bytes: Buffer.concat(chunks), contentType: response.headers.get('content-type') };
  } catch (error) {
    const detail = controller.signal.aborted ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
    return { ok: false, reason: 'fetch_failed', detail };
  } finally {
    clearTimeout(timer);
  }
}
