/**
 * Links the Meta emulator's demo Instagram account (@demo.shop) to a channel through the real linking flow, as an
 * owner would in a browser: a channel and its owner are made in the database, the engine's API gives a Facebook
 * Login URL, the emulator's login dialog is filled in (the demo Facebook user), the browser comes back to the
 * engine's callback, and the owner selects the account. Used by `npm run demo:link` and the fault suite.
 */
import { DEMO } from '../../emulator/seed';
import { createChannelDirectory } from '../../src/channels/directory';
import { connectDatabase } from '../../src/db/connection';
import { createModels, ensureIndexes } from '../../src/db/models';
import { loginThroughDialog } from './login-dialog';

export interface DemoLink {
  /** The owner's API key (only its hash is stored). */
  apiKey: string;
  /** The engine's answer to the selection. */
  linked: unknown;
}

/** Makes the channel if it is new and adds an owner with a fresh key (each call another owner). */
async function ownerKey(mongodbUri: string, channelId: string): Promise<string> {
  const database = await connectDatabase({ uri: mongodbUri, serverSelectionTimeoutMs: 3000 });
  try {
    const models = createModels(database);
    await ensureIndexes(models);
    const { apiKey } = await createChannelDirectory({ models, now: Date.now }).createChannelWithOwner({ channelId, name: 'Demo shop', ownerName: 'Demo owner' });
    return apiKey;
  } finally {
    await database.close();
  }
}

async function callApi(url: string, apiKey: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((error: unknown) => {
    throw new Error(`the engine's API does not answer at ${url} (${(error as Error).message}): is it running?`);
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** The whole flow against a running engine (`apiUrl`) and its database; the engine must point at the emulator. */
export async function linkDemoAccount(options: { apiUrl: string; mongodbUri: string; channelId: string }): Promise<DemoLink> {
  const { apiUrl, channelId } = options;
  const apiKey = await ownerKey(options.mongodbUri, channelId);
  const started = await callApi(`${apiUrl}/v1/channels/${channelId}/instagram/link`, apiKey);
  const callback = await loginThroughDialog(String(started.loginUrl), { email: DEMO.user.email, password: DEMO.user.password });
  if (callback.status !== 200) throw new Error(`the engine refused the login: ${JSON.stringify(callback.body)}`);
  const loginId = String((callback.body as { loginId?: unknown }).loginId);
  const linked = await callApi(`${apiUrl}/v1/channels/${channelId}/instagram/link/${loginId}`, apiKey, { igAccountIds: [DEMO.igAccount.id] });
  return { apiKey, linked: linked.linked };
}
