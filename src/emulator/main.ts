/** Entry point of the Meta emulator process (port 4010 by default): Graph API, login dialog, webhooks, control API. */
import type { Server } from 'node:http';
import { loadConfig } from '../config';
import { createEmulator } from './app';
import { createLogger } from './logger';
import { stopOnSignal } from './shutdown';

function main(): void {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { process: 'meta-emulator' } });
  const emulator = createEmulator({
    logger,
    publicBaseUrl: () => config.emulator.publicUrl,
    seed: {
      appId: config.meta.appId,
      appSecret: config.meta.appSecret,
      verifyToken: config.meta.webhookVerifyToken,
      webhookUrl: config.emulator.webhookUrl,
      demo: config.emulator.seedDemo,
    },
    webhookOptions: {
      timeoutMs: config.emulator.webhookTimeoutMs,
      retryDelaysMs: config.emulator.webhookRetryDelaysMs,
      giveUpAfterMs: config.emulator.webhookGiveUpMs,
    },
  });
  const server: Server = emulator.app.listen(config.emulator.port, config.emulator.host, () => {
    logger.info('meta emulator listening', {
      url: config.emulator.publicUrl,
      webhookUrl: config.emulator.webhookUrl,
      appId: config.meta.appId,
      demoSeeded: config.emulator.seedDemo,
    });
  });
  server.on('error', (error) => {
    logger.error('meta emulator could not listen', { error });
    process.exit(1);
  });
  stopOnSignal(logger, async () => {
    await emulator.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

try {
  main();
} catch (error) {
  process.stderr.write(`meta emulator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
