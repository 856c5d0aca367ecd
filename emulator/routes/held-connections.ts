/** Holding a Graph call open the way an overloaded Meta does, for the fault switches of the Send and Profile APIs. */
import type { Response } from 'express';

/** Holds the call like an overloaded Meta, then drops the connection; a client that gives up first closes it. */
export function hang(res: Response, hangMs: number): void {
  const timer = setTimeout(() => res.socket?.destroy(), hangMs);
  timer.unref();
  res.on('close', () => clearTimeout(timer));
}

/** Resolves after `ms`, or early (false) when the client gave up and closed the connection meanwhile. */
export function holdWhileConnected(res: Response, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    res.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
