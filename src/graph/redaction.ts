/**
 * Keeps tokens and secrets out of anything the client logs or puts in an error: Meta echoes malformed tokens in
 * some error messages, and the OAuth calls must carry secrets in the query string.
 */
const secretParams = new Set(['access_token', 'input_token', 'fb_exchange_token', 'client_secret', 'code', 'appsecret_proof']);
// Same shapes as the logger's: Facebook Login tokens start with EAA, Instagram Login tokens with IG.
const tokenLike = /\b(EAA[A-Za-z0-9_-]{16,}|IG[A-Za-z0-9_-]{40,})\b/g;

export function scrubText(text: string): string {
  return text.replace(tokenLike, '[redacted]');
}

/** The URL with every secret-bearing query parameter replaced by "[redacted]". */
export function scrubUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return scrubText(url.toString().replace(/([?&](?:access_token|input_token|fb_exchange_token|client_secret|code)=)[^&#]*/g, '$1[redacted]'));
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParams.has(name)) parsed.searchParams.set(name, '[redacted]');
  }
  return scrubText(parsed.toString().replace(/%5Bredacted%5D/g, '[redacted]'));
}
