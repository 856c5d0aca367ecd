import { createLogger, redact } from '../../src/logger';

describe('logger', () => {
  it('writes one JSON object per line with level, message and fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', base: { process: 'api' }, write: (line) => lines.push(line) });
    logger.debug('hidden');
    logger.info('hello', { count: 2 });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'info', msg: 'hello', process: 'api', count: 2 });
    expect(typeof record.time).toBe('string');
  });

  it('child loggers add their fields', () => {
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).child({ requestId: 'r1' }).warn('careful');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', requestId: 'r1' });
  });

  it('redacts values under secret-looking keys, at any depth', () => {
    expect(redact({ accessToken: 'abc', nested: { app_secret: 's', Authorization: 'Bearer x', ok: 1 } })).toEqual({
      accessToken: '[redacted]',
      nested: { app_secret: '[redacted]', Authorization: '[redacted]', ok: 1 },
    });
  });

  it('redacts token-shaped strings inside messages and errors', () => {
    const token = `EAA${'x'.repeat(40)}`;
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).error(`call failed for ${token}`, { error: new Error(`bad ${token}`) });
    expect(lines[0]).not.toContain(token);
    expect(lines[0]).toContain('[redacted]');
  });
});
