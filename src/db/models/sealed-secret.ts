/** The stored shape of a sealed secret (see security/token-cipher): every model that keeps a token uses it. */
import { Schema } from 'mongoose';
import type { SealedSecret } from '../../security/token-cipher';

export const sealedSecretSchema = new Schema<SealedSecret>(
  { keyId: { type: String, required: true }, iv: { type: String, required: true }, tag: { type: String, required: true }, data: { type: String, required: true } },
  { _id: false },
);
