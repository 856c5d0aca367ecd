/** A linked account's deadlines and the reasons a link ends early, as plain functions (workflow-safe). */
export const DAY_MS = 24 * 60 * 60 * 1000;
/** The re-authentication notice goes out this long before the link expires. */
export const REAUTH_WARNING_MS = 7 * DAY_MS;

/** Why Facebook (or Instagram) ended a link before its time; each has its own notice to the owners. */
export type TokenRevokedReason = 'password_changed' | 'expired_early' | 'app_removed' | 'messages_access_off' | 'invalid';

/**
 * When a link expires: the re-authentication period after the link (or the last re-authentication), but never
 * later than the token's own expiry as Meta reports it (null: Meta says the token never expires).
 */
export function linkExpiresAt(linkedAt: number, reauthPeriodDays: number, tokenExpiresAt: number | null): number {
  const periodEnd = linkedAt + reauthPeriodDays * DAY_MS;
  return tokenExpiresAt === null ? periodEnd : Math.min(periodEnd, tokenExpiresAt);
}

export function reauthWarningAt(expiresAt: number): number {
  return expiresAt - REAUTH_WARNING_MS;
}

/** The account-level reason behind a token error's reason (a `TokenInvalidReason`); unknown ones are `invalid`. */
export function tokenRevokedReasonOf(reason: string | undefined): TokenRevokedReason {
  switch (reason) {
    case 'password_changed':
      return 'password_changed';
    case 'expired':
      return 'expired_early';
    case 'app_removed':
      return 'app_removed';
    default:
      return 'invalid';
  }
}
