/** Images the engine sends, kept until Meta fetched them, served to Meta from `/media/<id>` of the public address. */
import { randomBytes } from 'node:crypto';
import type { Models } from '../db/models';
import type { MediaFile } from '../db/models/media-file';

export function publicMediaUrl(publicBaseUrl: string, mediaId: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/media/${mediaId}`;
}

export interface CheckedImage {
  bytes: Uint8Array;
  contentType: string;
}

export async function storeCheckedImage(
  models: Pick<Models, 'mediaFiles'>,
  input: { channelId: string; image: CheckedImage; source: MediaFile['source']; at: Date },
): Promise<string> {
  const mediaId = randomBytes(32).toString('hex');
  await models.mediaFiles.create({
    _id: mediaId,
    channelId: input.channelId,
    contentType: input.image.contentType,
    size: input.image.bytes.byteLength,
    bytes: Buffer.from(input.image.bytes),
    source: input.source,
    createdAt: input.at,
  });
  return mediaId;
}

/** The image for Meta's fetch; the id is the only key, as with Meta's own CDN links. */
export async function loadMedia(models: Pick<Models, 'mediaFiles'>, mediaId: string): Promise<{ contentType: string; bytes: Buffer } | null> {
  if (!/^[0-9a-f]{64}$/.test(mediaId)) return null;
  const file = await models.mediaFiles.findOne({ _id: mediaId }, { contentType: 1, bytes: 1 }).lean<{ contentType: string; bytes: Buffer | { buffer: Uint8Array } }>();
  if (!file) return null;
  // A lean read gives the driver's Binary, not a Buffer.
  return { contentType: file.contentType, bytes: Buffer.isBuffer(file.bytes) ? file.bytes : Buffer.from(file.bytes.buffer) };
}
