/**
 * The `state` of Facebook Login: `<loginId>.<signature>`, where the signature (HMAC-SHA256 under a key derived from
 * the app secret) covers the login id, the channel, the owner and the expiry stored with the login. A forged or
 * altered state, or one of another channel or owner, fails the signature; expiry and single use are checked
 * against the stored login.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface SignedLogin {
  loginId: string;
  channelId: string;
  managerId: string;
  expiresAt: Date;
}

export interface LoginStateSigner {
  newLoginId(): string;
  sign(login: SignedLogin): string;
  /** The login id a state names, or undefined when the state is not even shaped like one. */
  loginIdOf(state: string): string | undefined;
  /** True when `state` is exactly the state signed for `login`. */
  matches(state: string, login: SignedLogin): boolean;
}

const LOGIN_ID = /^[A-Za-z0-9_-]{22}$/;

export function createLoginStateSigner(appSecret: string): LoginStateSigner {
  // A key of its own: a state's signature can never pass for any other signature the app secret makes.
  const key = createHmac('sha256', appSecret).update('facebook-login-state/v1').digest();
  const signature = (login: SignedLogin): string =>
    createHmac('sha256', key).update([login.loginId, login.channelId, login.managerId, login.expiresAt.getTime()].join('\n')).digest('base64url');

  return {
    newLoginId: () => randomBytes(16).toString('base64url'),
    sign: (login) => `${login.loginId}.${signature(login)}`,
    loginIdOf(state) {
      const [loginId, signed, extra] = state.split('.');
      return extra === undefined && signed !== undefined && loginId !== undefined && LOGIN_ID.test(loginId) ? loginId : undefined;
    },
    matches(state, login) {
      const expected = Buffer.from(`${login.loginId}.${signature(login)}`);
      const given = Buffer.from(state);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
