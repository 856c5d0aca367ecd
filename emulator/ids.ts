/** Identifiers in Meta's shapes: numeric-string object ids, base64 mids, EAA tokens, fbtrace ids. */
import { randomBytes, randomInt } from 'node:crypto';

const base62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomBase62(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += base62[byte % 62];
  return out;
}

/** 15-17 digit numeric string like Meta's object ids; `prefix` keeps kinds apart (pages 1…, IG accounts 178…). */
export function numericId(prefix: string, totalDigits = 17): string {
  let digits = prefix;
  while (digits.length < totalDigits) digits += String(randomInt(0, 10));
  return digits;
}

/** Facebook Login tokens start with "EAA" (which the engine's logger also redacts). */
export function accessToken(): string {
  return `EAA${randomBase62(160)}`;
}

export function fbtraceId(): string {
  return randomBase62(11);
}

/** Instagram mids are base64 of an "ig_item" path; the shape matters only in that it is opaque and unique. */
export function messageId(igAccountId: string): string {
  const raw = `ig_item:1:IGMessageID:${igAccountId}:${Date.now().toString(36)}${randomBase62(12)}`;
  return Buffer.from(raw, 'utf8').toString('base64').replace(/=+$/, '');
}

export function opaqueCode(): string {
  return `AQ${randomBase62(120)}`;
}
