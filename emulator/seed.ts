/**
 * What the emulator holds when it starts: the engine's app (from config) and, unless turned off, a demo
 * Facebook user with a business, a Page linked to an Instagram professional account, a Page without one, and
 * two customers (one with no name and no picture), so the product can be tried at once. Fixed ids keep the
 * README's examples valid.
 */
import type { Messaging } from './messaging';
import type { EmulatorState } from './state';

export interface DemoSeedConfig {
  appId: string;
  appSecret: string;
  verifyToken: string;
  webhookUrl: string;
  /** The app's Facebook Login callbacks (META-API 4.3); none when absent. */
  deauthorizeCallbackUrl?: string | null;
  dataDeletionCallbackUrl?: string | null;
  demo: boolean;
}

export const DEMO = {
  user: { id: '100000000000101', name: 'Dana Demo', email: 'demo@example.com', password: 'demo-password' },
  business: { id: '200000000000101', name: 'Demo Shop' },
  page: { id: '110000000000101', name: 'Demo Shop' },
  pageWithoutInstagram: { id: '110000000000102', name: 'Demo Shop Blog' },
  igAccount: { id: '17841400000000101', username: 'demo.shop', name: 'Demo Shop' },
  customers: [
    { id: '900000000000101', username: 'mina.customer', name: 'Mina Park' },
    { id: '900000000000102', username: 'anon.customer', name: '' },
  ],
} as const;

export function seedDefaults(state: EmulatorState, messaging: Messaging, config: DemoSeedConfig): void {
  state.addApp({
    id: config.appId,
    secret: config.appSecret,
    name: 'Instagram DM Engine',
    verifyToken: config.verifyToken,
    callbackUrl: config.webhookUrl,
    deauthorizeCallbackUrl: config.deauthorizeCallbackUrl ?? null,
    dataDeletionCallbackUrl: config.dataDeletionCallbackUrl ?? null,
  });
  if (!config.demo) return;
  const user = state.addUser(DEMO.user);
  const business = state.addBusiness({ ownerUserId: user.id, ...DEMO.business });
  const page = state.addPage({ businessId: business.id, ...DEMO.page });
  state.addPage({ businessId: business.id, ...DEMO.pageWithoutInstagram });
  state.addIgAccount({ pageId: page.id, ...DEMO.igAccount });
  const [withProfile, anonymous] = DEMO.customers;
  state.addIgUser({ ...withProfile, profilePic: messaging.mediaPath('image') });
  state.addIgUser({ ...anonymous });
}
