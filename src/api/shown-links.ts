/**
 * Links that came from Meta (attachments, stories, profile pictures), as the API serves them: only a web address
 * (`https:` or `http:`) is served; anything else (`javascript:`, `data:`, `file:`, `vbscript:`, text that is no
 * URL) would run or open something in the inbox that shows it, so it is withheld and a marker says so. The stored
 * event keeps what came.
 */
import { z } from 'zod';
import { namedSchema } from './schema-names';

export const removedLinkSchema = namedSchema(
  'RemovedLink',
  z
    .object({
      reason: z.enum(['UnsafeScheme', 'Malformed']).describe('UnsafeScheme: a scheme other than https or http; Malformed: not an absolute URL, or one with spaces or control characters'),
      scheme: z.string().nullable().describe('The scheme it had (`javascript`, `data`, ...), when it had one'),
    })
    .describe('A link Meta sent that the API does not serve, because opening it would not (only) show a web page; the link beside it is then null'),
);
export type RemovedLink = z.input<typeof removedLinkSchema>;

export interface ShownLink {
  url: string | null;
  removed: RemovedLink | null;
}

/** Browsers drop spaces and control characters from a URL before reading its scheme (`java\tscript:`): none may be in a served link. */
function hasSpaceOrControl(url: string): boolean {
  for (let index = 0; index < url.length; index += 1) {
    const code = url.charCodeAt(index);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
const WEB_SCHEMES = new Set(['https:', 'http:']);
const MAX_SCHEME_SHOWN = 32;

/** The link as served: itself when it is a plain web address, else null with the reason. */
export function shownLink(url: string | null): ShownLink {
  if (url === null) return { url: null, removed: null };
  const parsed = parsedUrl(url);
  if (parsed && !WEB_SCHEMES.has(parsed.protocol)) {
    return { url: null, removed: { reason: 'UnsafeScheme', scheme: parsed.protocol.slice(0, -1).slice(0, MAX_SCHEME_SHOWN) } };
  }
  // Absolute, with the two slashes: `http:example.com` or a relative path would open differently in each inbox.
  if (!parsed || !/^https?:\/\//i.test(url) || hasSpaceOrControl(url)) return { url: null, removed: { reason: 'Malformed', scheme: null } };
  return { url, removed: null };
}

function parsedUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
