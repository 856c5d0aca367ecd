/** Shared expectations about refusals: a media check's error, and Meta's permanent Send API refusals by kind. */
import { MediaRejectedError } from '../../src/domain/errors';

/** The MediaRejectedError `action` throws; anything else (or nothing) fails the test. */
export function mediaRefusalOf(action: () => unknown): MediaRejectedError {
  try {
    action();
  } catch (error) {
    if (error instanceof MediaRejectedError) return error;
    throw error;
  }
  throw new Error('expected the image to be refused');
}

/**
 * The emulator's `refusal` fault kinds that refuse one message and leave the conversation open: Meta's code and
 * subcode (META-API 2.6) and the domain error type the Graph client maps them to.
 */
export const permanentSendRefusals = [
  ['not_receiving', 551, undefined, 'RecipientUnavailable'],
  ['not_available', 551, 1545041, 'RecipientUnavailable'],
  ['temporarily_restricted', 10, 1893063, 'SendingRestricted'],
  ['business_blocked', 100, 2534029, 'SendingRestricted'],
  ['no_matching_user', 100, 2534014, 'RecipientUnavailable'],
] as const;
