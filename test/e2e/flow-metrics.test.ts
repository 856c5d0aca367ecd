/**
 * What operators see of a conversation's flow, from both processes: the API's `/metrics` as Prometheus scrapes it,
 * and the in-process worker's registry served by the worker's own metrics server (as `src/worker.ts` serves it on
 * WORKER_METRICS_PORT). The emulator's customer writes, the inbox replies twice (Meta takes one, refuses the other).
 */
import { createLogger } from '../../src/logger';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/metrics-server';
import { startInboundWorld, type InboundWorld, type Json } from '../support/inbound-world';
import { sampleValue, scrapeMetrics, type Sample } from '../support/metrics';

jest.setTimeout(120_000);

const WORKER_METRICS_TOKEN = 'worker-metrics-token-for-tests';

describe('the flow, in metrics', () => {
  let world: InboundWorld;
  let workerMetrics: MetricsServer;
  let workerUrl = '';
  const authorized = { authorization: `Bearer ${WORKER_METRICS_TOKEN}` };

  beforeAll(async () => {
    world = await startInboundWorld();
    workerMetrics = await startMetricsServer({ registry: world.engine.metrics.worker.registry, host: '127.0.0.1', port: 0, token: WORKER_METRICS_TOKEN, logger: createLogger({ write: () => undefined }) });
    workerUrl = `http://127.0.0.1:${workerMetrics.port}`;
  });

  afterAll(async () => {
    await world?.control('DELETE', '/faults/send-api');
    await workerMetrics?.close();
    await world?.close();
  });

  const reply = async (conversationId: string, text: string): Promise<Json> => {
    const response = await fetch(`${world.engine.baseUrl}/v1/conversations/${conversationId}/messages?wait=sent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as Json).messages[0];
  };

  /** Both processes' samples, as two scrapers would read them. */
  async function scrapeBoth(): Promise<{ api: Sample[]; worker: Sample[] }> {
    const [api, worker] = await Promise.all([scrapeMetrics(world.engine.baseUrl), scrapeMetrics(workerUrl, authorized)]);
    expect([api.status, worker.status]).toEqual([200, 200]);
    return { api: api.samples, worker: worker.samples };
  }

  it('counts the message stored and recorded, one reply sent and one refused, and the echo once, in the process where each happened', async () => {
    const before = await scrapeBoth();
    const username = `metrics.customer.${Date.now()}`;
    expect((await world.control('POST', '/ig-users', { username })).status).toBe(201);
    const { igsid } = await world.customer({ kind: 'text', text: 'How much is the blue one?' }, username);
    const conversation = await world.conversationOf(igsid);
    await world.messagesOf(igsid, 1);

    const sent = await reply(conversation.conversationId, 'Twelve euros');
    expect(sent.status).toBe('sent');
    await world.control('PUT', '/faults/send-api', { mode: 'refusal', refusal: 'not_receiving', count: 1 });
    expect((await reply(conversation.conversationId, 'Shall I hold one for you?')).status).toBe('failed');
    // The sent reply's echo comes back through the webhook: recorded by whichever process sees it first settled.
    await world.eventually(async () => ((await world.engine.models.webhookEvents.findOne({ _id: `echo:${sent.mid}` }).lean<Json>())?.status === 'recorded' ? true : undefined), 20_000, 'the echo recorded');

    const after = await scrapeBoth();
    const grew = (process: 'api' | 'worker', name: string, labels: Record<string, string>) => sampleValue(after[process], name, labels) - sampleValue(before[process], name, labels);
    expect(grew('api', 'igdm_webhook_events_stored_total', { kind: 'message' })).toBe(1);
    expect(grew('api', 'igdm_webhook_events_stored_total', { kind: 'echo' })).toBe(1);
    expect(grew('api', 'igdm_webhook_ack_duration_seconds_count', { outcome: 'stored' })).toBe(2);
    expect(grew('worker', 'igdm_inbound_events_recorded_total', { kind: 'message', outcome: 'recorded' })).toBe(1);
    const echoes = { kind: 'echo', outcome: 'matched-own-send' };
    expect(grew('api', 'igdm_inbound_events_recorded_total', echoes) + grew('worker', 'igdm_inbound_events_recorded_total', echoes)).toBe(1);
    expect(grew('worker', 'igdm_outbound_sends_total', { outcome: 'sent' })).toBe(1);
    expect(grew('worker', 'igdm_outbound_sends_total', { outcome: 'failed' })).toBe(1);
    expect(grew('worker', 'igdm_outbound_sends_total', { outcome: 'unknown' })).toBe(0);
  });

  it("serves the worker's metrics only with the metrics token, and only at /metrics", async () => {
    expect((await scrapeMetrics(workerUrl)).status).toBe(401);
    expect((await scrapeMetrics(workerUrl, { authorization: 'Bearer wrong-token-of-enough-length' })).status).toBe(401);
    const scraped = await scrapeMetrics(workerUrl, authorized);
    expect(scraped.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scraped.samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect((await fetch(`${workerUrl}/`)).status).toBe(404);
  });
});
