/**
 * Replays the recorded histories with the current workflow code: a change that would make running workflows
 * nondeterministic fails here, not in production (DESIGN.md, "replay tests"). test/fixtures/histories holds runs on
 * the time-skipping server with stub activities (`npm run record:histories`); test/fixtures/histories/e2e holds runs
 * of the end-to-end suite against the real engine, the emulator and a Temporal dev server
 * (`npm run record:e2e-histories`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const root = path.resolve(__dirname, '..', 'fixtures', 'histories');
/** The histories in a folder under test/fixtures/histories, named by their path from there. */
const historiesIn = (folder: string): string[] =>
  existsSync(path.join(root, folder)) ? readdirSync(path.join(root, folder)).filter((file) => file.endsWith('.json')).map((file) => path.posix.join(folder, file)) : [];
const files = historiesIn('.');
const e2eFiles = historiesIn('e2e');

interface HistoryJson {
  events: Array<{
    eventId: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    activityTaskCompletedEventAttributes?: { scheduledEventId: string; result: { payloads: Array<{ data: string }> } };
  }>;
}

const readHistory = (file: string): HistoryJson => JSON.parse(readFileSync(path.join(root, file), 'utf8')) as HistoryJson;
const replayOptions = { workflowsPath: require.resolve('../../src/workflows') };
const replay = (history: unknown, id: string) => Worker.runReplayHistory(replayOptions, history, id);

/** A history whose first activity is another one than the workflow code schedules: replaying it must fail. */
function withFirstActivityRenamed(history: HistoryJson): HistoryJson {
  const scheduled = history.events.find((event) => event.activityTaskScheduledEventAttributes)!;
  scheduled.activityTaskScheduledEventAttributes!.activityType.name = 'anActivityTheCodeNeverSchedules';
  return history;
}

/** Rewrites every `recordInboundEvent` answer of a history as `change` says (payloads are base64 JSON). */
function rewriteRecordAnswers(history: HistoryJson, change: (answer: Record<string, unknown>) => Record<string, unknown>): HistoryJson {
  const recordIds = new Set(history.events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType.name === 'recordInboundEvent').map((event) => event.eventId));
  for (const event of history.events) {
    const completed = event.activityTaskCompletedEventAttributes;
    if (!completed || !recordIds.has(completed.scheduledEventId)) continue;
    for (const payload of completed.result.payloads) {
      const answer = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as Record<string, unknown>;
      payload.data = Buffer.from(JSON.stringify(change(answer))).toString('base64');
    }
  }
  return history;
}

describe('replay of recorded histories', () => {
  const tampered = 'tampered (must not replay)';
  /** What replaying each history answered: undefined when it replayed, the error otherwise. */
  const outcomes = new Map<string, Error | undefined>();

  // One replay worker for all of them: building the workflow bundle takes seconds, replaying a history far less.
  beforeAll(async () => {
    const histories = [...files, ...e2eFiles].map((file) => ({ workflowId: file, history: readHistory(file) }));
    const withActivity = [...e2eFiles, ...files].find((file) => readHistory(file).events.some((event) => event.activityTaskScheduledEventAttributes));
    if (withActivity) histories.push({ workflowId: tampered, history: withFirstActivityRenamed(readHistory(withActivity)) });
    for await (const result of Worker.runReplayHistories(replayOptions, histories)) outcomes.set(result.workflowId, result.error);
  }, 120_000);

  it('has histories to replay, from stub runs and from end-to-end runs', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(e2eFiles.length).toBeGreaterThan(0);
  });

  it.each([...files, ...e2eFiles])('%s replays with the current workflow code', (file) => {
    expect(outcomes.has(file)).toBe(true);
    expect(outcomes.get(file)).toBeUndefined();
  });

  it('fails on a history the workflow code did not make (a nondeterminism is caught, not skipped)', () => {
    expect(outcomes.get(tampered)).toBeInstanceOf(DeterminismViolationError);
  });

  // Activities may be deployed before the workflow code: a run whose events then said the profile was due, under
  // the workflow code that did not fetch it, must replay without the fetch its history does not have.
  it('a run recorded before the profile fetch left recordInboundEvent replays even where its answers said the profile was due', async () => {
    const history = rewriteRecordAnswers(readHistory('conversation-window-closes.json'), (answer) => ({ ...answer, profileDue: true }));
    await expect(replay(history, 'replay-profile-due-before-the-patch')).resolves.toBeUndefined();
  });
});
