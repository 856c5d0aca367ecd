/** The Meta emulator in-process on a free port, seeded with the engine's app and the demo business. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator } from '../../emulator/app';
import { createLogger } from '../../emulator/logger';

export interface TestEmulator {
  url: string;
  close(): Promise<void>;
}

export async function startTestEmulator(app: { appId: string; appSecret: string; verifyToken: string; webhookUrl: string }): Promise<TestEmulator> {
  let url = '';
  const emulator = createEmulator({
    logger: createLogger({ level: 'error', write: () => undefined }),
    publicBaseUrl: () => url,
    seed: { ...app, demo: true },
  });
  const server = createServer(emulator.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async close() {
      await emulator.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
