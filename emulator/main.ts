/** Entry point of the Meta emulator process (port 4010 by default): Graph API, login dialog, webhooks, control API. */
import type { Server } from 'node:http';
import { createEmulator } from './app';
import { loadEmulatorConfig } from './config';
import { createLogger } from './logger';
import { stopOnSignal } from './shutdown';

function main(): void {
  const config = loadEmulatorConfig();
  const logger = createLogger({ level: config.logLevel, base: { process: 'meta-emulator' } });
  const emulator = createEmulator({
    logger,
    publicBaseUrl: () => config.publicUrl,
    seed: config.seed,
    webhookOptions: config.webhooks,
  });
  const server: Server = emulator.app.listen(config.port, config.host, () => {
    logger.info('meta emulator listening', {
      url: config.publicUrl,
      webhookUrl: config.seed.webhookUrl,
      appId: config.seed.appId,
      demoSeeded: config.seed.demo,
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
