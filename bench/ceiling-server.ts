/**
 * The ceiling of `npm run bench:webhooks`: the least any webhook ingress must do, in a process of its own like the
 * engine's API. A bare Express app reads the raw body, checks X-Hub-Signature-256 with the engine's own check and
 * answers 200; it stores nothing. It reads the engine's configuration (src/config.ts) from the same environment as
 * the API, so the port, host, app secret and body limit are the API's.
 */
import express from 'express';
import { loadConfig } from '../src/config';
import { verifySignature } from '../src/security/webhook-signature';

const config = loadConfig();
const app = express();

app.post('/webhooks/instagram', express.raw({ type: () => true, limit: config.api.webhookMaxBodyBytes }), (req, res) => {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const signature = verifySignature(config.meta.appSecret, raw, req.get('x-hub-signature-256'));
  if (signature.ok) res.status(200).type('text/plain').send('EVENT_RECEIVED');
  else res.status(401).type('text/plain').send(`InvalidSignature: ${signature.reason}`);
});
app.get('/healthz', (_req, res) => {
  res.status(200).send('ok');
});

const server = app.listen(config.api.port, config.api.host);
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
