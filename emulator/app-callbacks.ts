/**
 * Meta's deauthorize and data-deletion callbacks (META-API 4.3): a form POST with one field, `signed_request` =
 * `<b64url(HMAC-SHA256(app secret, payload segment))>.<b64url(payload)>`, payload {algorithm, issued_at, user_id}.
 * Meta documents no retry for these, so each is sent once and its outcome reported to the caller of the control API.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { EmulatorClock } from './clock';
import type { Logger } from './logger';
import type { EmulatedApp } from './state-records';

export interface CallbackDelivery {
  kind: 'deauthorize' | 'data_deletion';
  callbackUrl: string;
  /** A 2xx answer (and, for a data deletion, the answer Meta requires). */
  delivered: boolean;
  status: number | null;
  /** Why it does not count as delivered. */
  problem?: string;
  durationMs: number;
}

export interface DataDeletionDelivery extends CallbackDelivery {
  /** The app's answer: where the user follows the deletion, and its code. */
  url?: string;
  confirmation_code?: string;
}

export interface AppCallbacks {
  deauthorize(app: EmulatedApp, userId: string): Promise<CallbackDelivery>;
  requestDataDeletion(app: EmulatedApp, userId: string): Promise<DataDeletionDelivery>;
}

export interface AppCallbacksDeps {
  clock: EmulatorClock;
  logger: Logger;
  /** How long the app may take to answer. */
  timeoutMs: number;
  fetchImpl?: typeof fetch;
}

const base64Url = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');

/** Signs the payload segment exactly as it is sent (Meta strips the base64 padding). */
export function makeSignedRequest(appSecret: string, payload: Record<string, unknown>): string {
  const segment = base64Url(Buffer.from(JSON.stringify(payload), 'utf8'));
  return `${base64Url(createHmac('sha256', appSecret).update(segment).digest())}.${segment}`;
}

// What Meta requires of a data-deletion callback's answer.
const deletionAnswerSchema = z.object({ url: z.string().min(1), confirmation_code: z.string().regex(/^[A-Za-z0-9]+$/, 'must be alphanumeric') });

export function createAppCallbacks(deps: AppCallbacksDeps): AppCallbacks {
  const fetchImpl = deps.fetchImpl ?? fetch;

  async function post(kind: CallbackDelivery['kind'], callbackUrl: string, app: EmulatedApp, userId: string): Promise<{ delivery: CallbackDelivery; text: string }> {
    const signedRequest = makeSignedRequest(app.secret, { algorithm: 'HMAC-SHA256', issued_at: Math.floor(deps.clock.now() / 1000), user_id: userId });
    const started = Date.now();
    try {
      const response = await fetchImpl(callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ signed_request: signedRequest }).toString(),
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      const text = await response.text();
      const delivered = response.ok;
      const delivery: CallbackDelivery = { kind, callbackUrl, delivered, status: response.status, durationMs: Date.now() - started, ...(delivered ? {} : { problem: `answered ${response.status}: ${text.slice(0, 300)}` }) };
      return { delivery, text };
    } catch (error) {
      return { delivery: { kind, callbackUrl, delivered: false, status: null, problem: `no answer: ${(error as Error).message}`, durationMs: Date.now() - started }, text: '' };
    }
  }

  function logged<T extends CallbackDelivery>(delivery: T, appId: string, userId: string): T {
    const fields = { appId, userId, kind: delivery.kind, status: delivery.status, problem: delivery.problem };
    if (delivery.delivered) deps.logger.info('app callback delivered', fields);
    else deps.logger.warn('app callback failed', fields);
    return delivery;
  }

  return {
    async deauthorize(app, userId) {
      if (!app.deauthorizeCallbackUrl) return { kind: 'deauthorize', callbackUrl: '', delivered: false, status: null, problem: 'the app has no deauthorize callback URL', durationMs: 0 };
      const { delivery } = await post('deauthorize', app.deauthorizeCallbackUrl, app, userId);
      return logged(delivery, app.id, userId);
    },

    async requestDataDeletion(app, userId) {
      if (!app.dataDeletionCallbackUrl) return { kind: 'data_deletion', callbackUrl: '', delivered: false, status: null, problem: 'the app has no data deletion callback URL', durationMs: 0 };
      const { delivery, text } = await post('data_deletion', app.dataDeletionCallbackUrl, app, userId);
      if (!delivery.delivered) return logged(delivery, app.id, userId);
      return logged(withDeletionAnswer(delivery, text), app.id, userId);
    },
  };
}

/** A 2xx answer counts only with the JSON Meta requires: {url, confirmation_code}. */
function withDeletionAnswer(delivery: CallbackDelivery, text: string): DataDeletionDelivery {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...delivery, delivered: false, problem: 'the answer is not JSON; Meta requires {url, confirmation_code}' };
  }
  const answer = deletionAnswerSchema.safeParse(json);
  if (!answer.success) {
    const problems = answer.error.issues.map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`).join('; ');
    return { ...delivery, delivered: false, problem: `the answer is not {url, confirmation_code}: ${problems}` };
  }
  return { ...delivery, url: answer.data.url, confirmation_code: answer.data.confirmation_code };
}
