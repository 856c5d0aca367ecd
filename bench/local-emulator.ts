/**
 * The Meta emulator in a benchmark's own process, on a free loopback port, with the engine's app. It counts the
 * calls of one kind it answered (the benchmark's way of knowing when the work it caused is done, without a query).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator, type Emulator } from '../emulator/app';
import { createLogger as createEmulatorLogger } from '../emulator/logger';
import type { AppConfig } from '../src/config';

export interface LocalEmulator {
  url: string;
  /** The emulator itself: its state and its customers' actions, for seeding in this process. */
  emulator: Emulator;
  /** Calls `counted` chose that it answered with 200 so far. */
  answered: () => number;
  close(): Promise<void>;
}

/**
 * Starts the emulator. Nothing subscribes the app to a Page here, so a customer's message publishes no webhook;
 * the callback address is a closed port all the same.
 */
export async function startEmulator(config: AppConfig, counted: (req: IncomingMessage) => boolean): Promise<LocalEmulator> {
  let url = '';
  let answered = 0;
  const emulator = createEmulator({
    logger: createEmulatorLogger({ level: 'error', write: () => undefined }),
    publicBaseUrl: () => url,
    seed: { appId: config.meta.appId, appSecret: config.meta.appSecret, verifyToken: config.meta.webhookVerifyToken, webhookUrl: 'http://127.0.0.1:9/webhooks/instagram', demo: false },
  });
  const server = createServer((req, res) => {
    if (counted(req)) {
      res.once('finish', () => {
        if (res.statusCode === 200) answered += 1;
      });
    }
    emulator.app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    emulator,
    answered: () => answered,
    async close() {
      await emulator.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
