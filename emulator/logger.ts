/**
 * The emulator's log: one JSON object per line, at or above a minimum level. Its tokens and secrets are its own
 * test values, so nothing is redacted.
 */
const levels = ['debug', 'info', 'warn', 'error'] as const;

export type LogLevel = (typeof levels)[number];
export type LogFields = Record<string, unknown>;
export type Logger = Record<LogLevel, (message: string, fields?: LogFields) => void>;

/** JSON.stringify writes an Error as {}; keep what a reader needs. */
function withReadableErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}

export function createLogger(options: { level?: LogLevel; base?: LogFields; write?: (line: string) => void } = {}): Logger {
  const minimum = levels.indexOf(options.level ?? 'info');
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const at =
    (level: LogLevel) =>
    (message: string, fields: LogFields = {}): void => {
      if (levels.indexOf(level) < minimum) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...options.base, ...fields }, withReadableErrors));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
