/**
 * What a reply said, reduced to a fingerprint: when Meta's answer to a send is lost, the echo Meta delivers for it
 * is recognised by its recipient, this app's id and this fingerprint (never by the text itself, which stays in
 * the database). Images are re-hosted by Meta, so an image is known by its kind only.
 */
import { createHash } from 'node:crypto';

export interface FingerprintedContent {
  text: string | null;
  attachmentTypes: readonly string[];
}

export function contentFingerprint(content: FingerprintedContent): string {
  const canonical = JSON.stringify({ text: content.text ?? null, attachments: [...content.attachmentTypes] });
  return createHash('sha256').update(canonical).digest('hex');
}
