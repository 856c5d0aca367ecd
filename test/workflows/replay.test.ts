/**
 * Replays the recorded histories in test/fixtures/histories with the current workflow code: a change that would
 * make running workflows nondeterministic fails here, not in production (DESIGN.md, "replay tests").
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';

const dir = path.resolve(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((file) => file.endsWith('.json'));

interface HistoryJson {
  events: Array<{
    eventId: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    activityTaskCompletedEventAttributes?: { scheduledEventId: string; result: { payloads: Array<{ data: string }> } };
  }>;
}

const readHistory = (file: string): HistoryJson => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as HistoryJson;
const replay = (history: unknown, id: string) => Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history, id);

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
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays with the current workflow code', async (file) => {
    await expect(replay(readHistory(file), `replay-${file}`)).resolves.toBeUndefined();
  });

  // Activities may be deployed before the workflow code: a run whose events then said the profile was due, under
  // the workflow code that did not fetch it, must replay without the fetch its history does not have.
  it('a run recorded before the profile fetch left recordInboundEvent replays even where its answers said the profile was due', async () => {
    const history = rewriteRecordAnswers(readHistory('conversation-window-closes.json'), (answer) => ({ ...answer, profileDue: true }));
    await expect(replay(history, 'replay-profile-due-before-the-patch')).resolves.toBeUndefined();
  });
});
