/**
 * The engine's metrics as a scraper reads them: each process's families with their help, label sets closed (a
 * kind outside the domain's list is `unknown`), nothing counted twice by a registry of another process, and the
 * Temporal runtime installed only when configured.
 */
import { createApiMetrics, createWorkerMetrics, kindLabel } from '../../src/metrics/engine-metrics';
import { scrape, scrapeAllowed } from '../../src/metrics/scrape';
import { temporalRuntimeOptions } from '../../src/metrics/temporal-runtime';
import { samplesOf, sampleValue } from '../support/metrics';

const TOKEN = 'a-metrics-token-for-tests';

describe('the API registry', () => {
  it('has the acknowledgement histogram by outcome, the stored and held counters by kind, and the process metrics', async () => {
    const metrics = createApiMetrics();
    metrics.webhookAcknowledged('stored', 0.012);
    metrics.webhookAcknowledged('refused', 0.001);
    metrics.webhookEventsStored(['message', 'message', 'read']);
    metrics.inboundEventsHeld(['reaction']);
    metrics.inboundEventRecorded('echo', 'matched-own-send');
    const samples = await samplesOf(metrics.registry);
    expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'stored' })).toBe(1);
    expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_bucket', { outcome: 'stored', le: '0.025' })).toBe(1);
    expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_bucket', { outcome: 'stored', le: '0.01' })).toBe(0);
    expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'refused' })).toBe(1);
    expect(sampleValue(samples, 'igdm_webhook_ack_duration_seconds_count', { outcome: 'unavailable' })).toBe(0);
    expect(sampleValue(samples, 'igdm_webhook_events_stored_total', { kind: 'message' })).toBe(2);
    expect(sampleValue(samples, 'igdm_webhook_events_stored_total', { kind: 'read' })).toBe(1);
    expect(sampleValue(samples, 'igdm_inbound_events_held_total', { kind: 'reaction' })).toBe(1);
    expect(sampleValue(samples, 'igdm_inbound_events_recorded_total', { kind: 'echo', outcome: 'matched-own-send' })).toBe(1);
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    // The worker's families are the worker's alone.
    expect(samples.some((sample) => sample.name.startsWith('igdm_outbound_sends'))).toBe(false);
  });

  it('shows every kind and outcome at 0 before anything happened, so a rate is defined from the first scrape', async () => {
    const samples = await samplesOf(createApiMetrics().registry);
    const kinds = samples.filter((sample) => sample.name === 'igdm_webhook_events_stored_total').map((sample) => sample.labels.kind).sort();
    expect(kinds).toEqual(['change', 'deleted', 'echo', 'edit', 'message', 'postback', 'reaction', 'read', 'referral', 'unknown']);
    const outcomes = samples.filter((sample) => sample.name === 'igdm_webhook_ack_duration_seconds_count').map((sample) => sample.labels.outcome).sort();
    expect(outcomes).toEqual(['refused', 'stored', 'unavailable']);
  });
});

describe('the worker registry', () => {
  it('counts events recorded and parked by kind, and sends by outcome', async () => {
    const metrics = createWorkerMetrics();
    metrics.inboundEventRecorded('message', 'recorded');
    metrics.inboundEventRecorded('story_mention_of_tomorrow', 'skipped');
    metrics.inboundEventParked('postback');
    metrics.sendSettled('sent');
    metrics.sendSettled('unknown');
    const samples = await samplesOf(metrics.registry);
    expect(sampleValue(samples, 'igdm_inbound_events_recorded_total', { kind: 'message', outcome: 'recorded' })).toBe(1);
    expect(sampleValue(samples, 'igdm_inbound_events_recorded_total', { kind: 'unknown', outcome: 'skipped' })).toBe(1);
    expect(sampleValue(samples, 'igdm_inbound_events_parked_total', { kind: 'postback' })).toBe(1);
    expect(sampleValue(samples, 'igdm_outbound_sends_total', { outcome: 'sent' })).toBe(1);
    expect(sampleValue(samples, 'igdm_outbound_sends_total', { outcome: 'failed' })).toBe(0);
    expect(sampleValue(samples, 'igdm_outbound_sends_total', { outcome: 'unknown' })).toBe(1);
    expect(samples.some((sample) => sample.name.startsWith('igdm_webhook_'))).toBe(false);
  });

  it('keeps its label values to closed sets', async () => {
    const metrics = createWorkerMetrics();
    for (const kind of ['message', '17841400000000101', 'message:mid.$abc', 'Hi! Is the blue one in stock?']) metrics.inboundEventRecorded(kind, 'recorded');
    const labelValues = (await samplesOf(metrics.registry)).filter((sample) => sample.name.startsWith('igdm_')).flatMap((sample) => Object.values(sample.labels));
    expect(new Set(labelValues)).toEqual(new Set(['message', 'unknown', 'recorded', 'change', 'deleted', 'echo', 'edit', 'postback', 'reaction', 'read', 'referral', 'sent', 'failed']));
  });
});

describe('kindLabel', () => {
  it('keeps the domain kinds and makes anything else unknown', () => {
    expect(kindLabel('reaction')).toBe('reaction');
    expect(kindLabel('toString')).toBe('unknown');
    expect(kindLabel('')).toBe('unknown');
  });
});

describe('a scrape', () => {
  const registry = { contentType: 'text/plain; version=0.0.4; charset=utf-8' as const, metrics: async () => 'up 1\n' };

  it('is open without a token', async () => {
    expect(await scrape(registry, undefined, null)).toEqual({ status: 200, contentType: registry.contentType, body: 'up 1\n' });
  });

  it('with a token, takes only that token as a bearer', async () => {
    expect(scrapeAllowed(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(scrapeAllowed(`bearer   ${TOKEN} `, TOKEN)).toBe(true);
    for (const header of [undefined, '', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer other-token-of-some-length']) expect(scrapeAllowed(header, TOKEN)).toBe(false);
    expect(await scrape(registry, undefined, TOKEN)).toMatchObject({ status: 401, message: expect.stringContaining('METRICS_TOKEN') });
  });
});

describe('the Temporal runtime options', () => {
  it('are none unless a bind address is configured, so no test process installs a runtime by accident', () => {
    expect(temporalRuntimeOptions({ temporalBindAddress: null })).toBeNull();
  });

  it('export the SDK metrics on Prometheus at the configured address', () => {
    expect(temporalRuntimeOptions({ temporalBindAddress: '0.0.0.0:9465' })).toEqual({ telemetryOptions: { metrics: { prometheus: { bindAddress: '0.0.0.0:9465' } } } });
  });
});
