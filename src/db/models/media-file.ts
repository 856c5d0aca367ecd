/**
 * mediaFiles: images the engine sends, after it checked their bytes (an upload, or what it fetched from a URL).
 * Meta fetches each from the engine's public address by its unguessable id, so Meta gets exactly the checked bytes.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface MediaFile {
  /** 32 random bytes, hex: the id is the only key to the file. */
  _id: string;
  channelId: string;
  contentType: string;
  size: number;
  bytes: Buffer;
  /** Where it came from: an upload, or the URL a manager gave. */
  source: { kind: 'upload'; filename: string | null } | { kind: 'url'; url: string };
  createdAt: Date;
}

const mediaFileSchema = new Schema<MediaFile>(
  {
    _id: { type: String, required: true },
    channelId: { type: String, required: true },
    contentType: { type: String, required: true },
    size: { type: Number, required: true },
    bytes: { type: Buffer, required: true },
    source: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'mediaFiles', versionKey: false },
);

export type MediaFileModel = Model<MediaFile>;

export function getMediaFileModel(connection: Connection): MediaFileModel {
  return (connection.models.MediaFile as MediaFileModel | undefined) ?? connection.model<MediaFile>('MediaFile', mediaFileSchema);
}
