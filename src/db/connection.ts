/** One mongoose connection per process. It keeps trying to reach the server, so a process may start before its database. */
import mongoose, { type Connection } from 'mongoose';
import { sleep, withTimeout } from '../async';
import type { Logger } from '../logger';

export interface DatabaseOptions {
  uri: string;
  /** How long an operation waits for a server before it fails (so readiness checks answer fast). */
  serverSelectionTimeoutMs?: number;
  /** Pause between attempts while the first connection has not succeeded. */
  retryDelayMs?: number;
}

/** Connects and resolves once connected; rejects only if `signal` aborts first. */
export async function connectDatabase(options: DatabaseOptions, logger?: Logger, signal?: AbortSignal): Promise<Connection> {
  const connection = createDatabaseConnection();
  await openWithRetry(connection, options, logger, signal);
  return connection;
}

/** A connection object that is not yet open: hand it to code at start-up, open it with `openWithRetry`. */
export function createDatabaseConnection(): Connection {
  return mongoose.createConnection();
}

export async function openWithRetry(connection: Connection, options: DatabaseOptions, logger?: Logger, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await connection.openUri(options.uri, {
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
        // Retryable writes need a replica set; the local database is a single server.
        retryWrites: false,
        autoIndex: false,
      });
      if (attempt > 1) logger?.info('mongodb connected', { attempt });
      return;
    } catch (error) {
      if (signal?.aborted) throw error;
      logger?.warn('mongodb not reachable yet, retrying', { attempt, error: (error as Error).message });
      await sleep(options.retryDelayMs ?? 1000, signal);
    }
  }
}

/** Answers whether the database responds right now, within the given time. */
export async function pingDatabase(connection: Connection, timeoutMs = 2000): Promise<void> {
  const db = connection.db;
  if (!db || connection.readyState !== mongoose.ConnectionStates.connected) throw new Error('not connected');
  await withTimeout(db.command({ ping: 1 }), timeoutMs, 'MongoDB ping');
}
