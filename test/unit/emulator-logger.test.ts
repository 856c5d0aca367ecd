/** The emulator's own log lines (emulator/logger.ts). */
import { createLogger } from '../../emulator/logger';

describe('the emulator logger', () => {
  it('writes one JSON object a line, with its level, message, base fields and fields', () => {
    const lines: string[] = [];
    createLogger({ base: { process: 'meta-emulator' }, write: (line) => lines.push(line) }).info('listening', { port: 4010 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg: 'listening', process: 'meta-emulator', port: 4010 });
    expect(Number.isNaN(Date.parse(JSON.parse(lines[0]!).time))).toBe(false);
  });

  it('leaves out what is below its level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line) });
    logger.debug('detail');
    logger.info('news');
    logger.warn('careful');
    logger.error('broken');
    expect(lines.map((line) => JSON.parse(line).level)).toEqual(['warn', 'error']);
  });

  it('writes an error with its name, message and stack rather than as {}', () => {
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).error('failed', { error: new TypeError('bad input') });
    const { error } = JSON.parse(lines[0]!);
    expect(error).toMatchObject({ name: 'TypeError', message: 'bad input' });
    expect(error.stack).toContain('bad input');
  });
});
