/**
 * `npm run events:parked -- list [--account ID] [--limit N]`, `... replay <eventId>`, `... replay --account ID`: the
 * operators' view of parked events (inbound events the conversation workflow could not record within its
 * attempts), and their replay once the cause is fixed, through the code the API uses (src/inbound/parked-events.ts).
 * Reads the engine's settings (locally, the install's secrets in .data/, as `npm start` does); a replay also talks
 * to Temporal, since it dispatches the event to its conversation as the webhook ingress does.
 * Exits 0 when done, 1 when the database does not answer or the event or account is not what was named, 2 (after
 * the usage) for arguments it does not understand.
 */
import { createApiMetrics } from '../src/metrics/engine-metrics';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, loadStackConfig, type AppConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createModels, type Models } from '../src/db/models';
import { createInboundDispatcher } from '../src/inbound/dispatcher';
import { createParkedEvents, type ParkedEvent, type ParkedEvents, type ReplayOutcome } from '../src/inbound/parked-events';
import { createLogger } from '../src/logger';
import { createTemporalAccess } from '../src/temporal/client';
import { withLocalSecrets } from './lib/local-secrets';
import { repoRoot } from './lib/processes';

const USAGE = [
  'usage: npm run events:parked -- list [--account <igAccountId>] [--limit <n>]   the parked events, newest first (100 unless --limit)',
  '       npm run events:parked -- replay <eventId>                             replay one parked event',
  '       npm run events:parked -- replay --account <igAccountId>               replay every parked event of an account',
].join('\n');

const DATABASE_WAIT_MS = 30_000;
const DEFAULT_LIST_LIMIT = 100;

type Command = { name: 'list'; igAccountId?: string; limit: number } | { name: 'replay'; eventId: string } | { name: 'replay-account'; igAccountId: string };

/** A refusal of the arguments: printed with the usage, exit 2. */
class UsageError extends Error {}

/** A command that ran and could not do what was asked (an unknown event, one not parked): exit 1. */
class CommandFailed extends Error {}

function readCommand(args: string[]): Command {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [name, ...rest] = parsed.positionals;
  const igAccountId = parsed.values.account;
  if (name === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no other argument (got ${rest.join(' ')})`);
    return { name: 'list', ...(igAccountId === undefined ? {} : { igAccountId }), limit: readLimit(parsed.values.limit) };
  }
  if (name === 'replay') {
    if (parsed.values.limit !== undefined) throw new UsageError('--limit is for list');
    if (igAccountId !== undefined && rest.length === 0) return { name: 'replay-account', igAccountId };
    if (igAccountId === undefined && rest.length === 1) return { name: 'replay', eventId: rest[0]! };
    throw new UsageError('replay takes one event id, or --account and no event id');
  }
  throw new UsageError(name === undefined ? 'name a command: list or replay' : `unknown command ${name}`);
}

function parseCommandLine(args: string[]) {
  return parseArgs({ args, options: { account: { type: 'string' }, limit: { type: 'string' } }, allowPositionals: true, strict: true });
}

function readLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIST_LIMIT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number from 1 (got ${value})`);
  return limit;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describeEvent(event: ParkedEvent): string[] {
  const attempts = event.recordAttempts ?? 'unknown';
  const replays = event.replays ? `, replayed ${event.replays} time(s)` : '';
  return [
    `${event._id}  account ${event.igAccountId ?? '-'}  customer ${event.customerIgsid ?? '-'}  ${event.kind}  received ${event.receivedAt.toISOString()}  attempts ${attempts}${replays}`,
    `  reason: ${event.problem ?? 'not recorded'}`,
  ];
}

async function list(parked: ParkedEvents, command: Extract<Command, { name: 'list' }>): Promise<void> {
  const filter = command.igAccountId === undefined ? {} : { igAccountIds: [command.igAccountId] };
  const [total, events] = await Promise.all([parked.count(filter), parked.list({ ...filter, limit: command.limit })]);
  const of = command.igAccountId === undefined ? '' : ` of account ${command.igAccountId}`;
  if (total === 0) return say(`no parked events${of}`);
  say(`${total} parked event(s)${of}${events.length < total ? `, the newest ${events.length} shown (--limit for more)` : ''}, newest first:`);
  for (const event of events) describeEvent(event).forEach(say);
}

const outcomeWords: Record<ReplayOutcome, string> = {
  dispatched: 'dispatched to its conversation',
  queued: 'pending: Temporal did not take it, the api’s sweeper dispatches it',
  held: 'held: the account must be re-authenticated first',
  unlinked: 'unlinked: the account is not linked, the event is kept',
  recorded: 'recorded (the echo of a reply already sent)',
};

async function replayOne(parked: ParkedEvents, eventId: string): Promise<void> {
  const replay = await parked.replay(eventId);
  if (replay.outcome === 'not-found') throw new CommandFailed(`no webhook event ${eventId}`);
  if (replay.outcome === 'not-parked') throw new CommandFailed(`webhook event ${eventId} is ${replay.status}, not parked: only a parked event is replayed`);
  say(`replayed ${eventId}: ${outcomeWords[replay.dispatch]}`);
}

async function replayAccount(models: Pick<Models, 'linkedAccounts'>, parked: ParkedEvents, igAccountId: string): Promise<void> {
  if (!(await models.linkedAccounts.exists({ _id: igAccountId }))) throw new CommandFailed(`no Instagram account ${igAccountId}`);
  const replayed = await parked.replayAccount(igAccountId);
  if (replayed.replayed === 0) return say(`account ${igAccountId} has no parked events`);
  const outcomes = (Object.keys(outcomeWords) as ReplayOutcome[]).filter((outcome) => replayed[outcome] > 0).map((outcome) => `${replayed[outcome]} ${outcome}`);
  say(`replayed ${replayed.replayed} parked event(s) of account ${igAccountId}: ${outcomes.join(', ')}`);
}

async function run(command: Command, config: AppConfig): Promise<void> {
  const database = await connectDatabase({ uri: config.mongodb.uri, serverSelectionTimeoutMs: 3000 }, undefined, AbortSignal.timeout(DATABASE_WAIT_MS)).catch((error: unknown) => {
    throw new CommandFailed(`the database does not answer (${(error as Error).message})`);
  });
  // Only a replay dispatches; the client connects on its first call.
  const temporal = createTemporalAccess(config.temporal);
  try {
    const models = createModels(database);
    // Its warnings (a dispatch Temporal refused) go to stderr, apart from the lines above.
    const logger = createLogger({ level: 'warn', base: { process: 'events:parked' }, write: (line) => process.stderr.write(`${line}\n`) });
    // Counted in a registry of its own, which nothing scrapes: the engine's processes count what they record.
    const dispatcher = createInboundDispatcher({ models, temporal: temporal.client, taskQueue: config.temporal.taskQueue, logger, metrics: createApiMetrics() });
    const parked = createParkedEvents({ models, dispatcher });
    if (command.name === 'list') await list(parked, command);
    else if (command.name === 'replay') await replayOne(parked, command.eventId);
    else await replayAccount(models, parked, command.igAccountId);
  } finally {
    await temporal.close();
    await database.close();
  }
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = readCommand(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(withLocalSecrets(process.env, loadStackConfig(path.join(repoRoot, '.data')).dataDir));
  try {
    await run(command, config);
    return 0;
  } catch (error) {
    if (!(error instanceof CommandFailed)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    process.stderr.write(`events:parked failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
