/**
 * The control API's switches (/_emulator/...): the emulator's clock, how webhooks are delivered (duplicates,
 * reordering, batches, holding), the delivery log, and the Send API's and Profile API's faults.
 */
import { Router } from 'express';
import { z } from 'zod';
import { DAY_MS } from '../clock';
import { faultRuleSchema, profileFaultRuleSchema } from '../faults';
import { exactlyOne, parse } from './control-input';
import type { ControlRoutesDeps } from './control';

const switchesSchema = z
  .object({
    duplicates: z.number().int().min(0).max(10),
    reorder: z.boolean(),
    batchSize: z.number().int().min(1).max(1000),
    batchWindowMs: z.number().int().min(0).max(60_000),
    hold: z.boolean(),
    delayMs: z.number().int().min(0).max(600_000),
  })
  .partial();

const senderOptionsSchema = z
  .object({
    timeoutMs: z.number().int().min(1).max(60_000),
    retryDelaysMs: z.array(z.number().int().min(0).max(3_600_000)).min(1),
    giveUpAfterMs: z.number().int().min(0),
    legacySha1: z.boolean(),
  })
  .partial();

const clockSchema = z
  .object({
    advanceMs: z.number().int().optional(),
    advanceHours: z.number().optional(),
    advanceDays: z.number().optional(),
    setTo: z.number().int().positive().optional(),
    reset: z.literal(true).optional(),
  })
  .refine(...exactlyOne(['advanceMs', 'advanceHours', 'advanceDays', 'setTo', 'reset']));

export function createSwitchesRouter(deps: Pick<ControlRoutesDeps, 'clock' | 'webhooks' | 'faults' | 'profileFaults'>): Router {
  const { clock, webhooks, faults, profileFaults } = deps;
  const router = Router();

  // --- clock ------------------------------------------------------------------------------------------------

  router.get('/clock', (_req, res) => {
    res.json({ now: clock.now(), offsetMs: clock.offsetMs() });
  });

  router.post('/clock', (req, res) => {
    const input = parse(clockSchema, req.body);
    if (input.advanceMs !== undefined) clock.advance(input.advanceMs);
    else if (input.advanceHours !== undefined) clock.advance(Math.round(input.advanceHours * 3_600_000));
    else if (input.advanceDays !== undefined) clock.advance(Math.round(input.advanceDays * DAY_MS));
    else if (input.setTo !== undefined) clock.set(input.setTo);
    else clock.reset();
    res.json({ now: clock.now(), offsetMs: clock.offsetMs() });
  });

  // --- webhook delivery -------------------------------------------------------------------------------------

  router.get('/webhooks/switches', (_req, res) => {
    res.json({ switches: webhooks.switches(), options: webhooks.options() });
  });

  router.put('/webhooks/switches', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { options, ...switchChanges } = body;
    const switches = webhooks.setSwitches(parse(switchesSchema, switchChanges));
    const sender = options === undefined ? webhooks.options() : webhooks.setOptions(parse(senderOptionsSchema, options, 'options'));
    res.json({ switches, options: sender });
  });

  router.post('/webhooks/flush', (_req, res) => {
    webhooks.flush();
    res.json({ ok: true });
  });

  router.post('/webhooks/wait-idle', async (req, res) => {
    const { timeoutMs } = parse(z.object({ timeoutMs: z.number().int().min(0).max(120_000).default(10_000) }), req.body);
    res.json({ idle: await webhooks.waitForIdle(timeoutMs) });
  });

  router.get('/webhooks/alerts', (_req, res) => {
    res.json({ data: webhooks.alerts() });
  });

  router.get('/deliveries', (req, res) => {
    const { appId, state: wanted } = parse(z.object({ appId: z.string().optional(), state: z.string().optional() }), req.query, 'query');
    const data = webhooks.deliveries().filter((delivery) => (appId === undefined || delivery.appId === appId) && (wanted === undefined || delivery.state === wanted));
    res.json({ data });
  });

  router.delete('/deliveries', (_req, res) => {
    webhooks.clearLog();
    res.json({ ok: true });
  });

  // --- Send API faults --------------------------------------------------------------------------------------

  router.get('/faults/send-api', (_req, res) => {
    res.json({ rule: faults.current() });
  });

  router.put('/faults/send-api', (req, res) => {
    faults.set(parse(faultRuleSchema, req.body));
    res.json({ rule: faults.current() });
  });

  router.delete('/faults/send-api', (_req, res) => {
    faults.clear();
    res.json({ rule: null });
  });

  // --- Profile API faults (GET /{igsid}) ----------------------------------------------------------------------

  router.get('/faults/profile-api', (_req, res) => {
    res.json({ rule: profileFaults.current() });
  });

  router.put('/faults/profile-api', (req, res) => {
    profileFaults.set(parse(profileFaultRuleSchema, req.body));
    res.json({ rule: profileFaults.current() });
  });

  router.delete('/faults/profile-api', (_req, res) => {
    profileFaults.clear();
    res.json({ rule: null });
  });

  return router;
}
