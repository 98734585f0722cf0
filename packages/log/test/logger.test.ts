import { describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';

describe('recordingLogger', () => {
  it('keeps every line in order, with groups, and echoes to another logger', async () => {
    const echo = recordingLogger();
    const log = recordingLogger(echo);
    log.info('connecting');
    const value = await log.group('upload', () => {
      log.warning('slow link');
      return Promise.resolve(42);
    });
    log.error('failed');
    expect(value).toBe(42);
    expect(log.text()).toBe('info: connecting\ngroup: upload\nwarning: slow link\nerror: failed');
    expect(echo.lines.map((l) => l.message)).toEqual(['connecting', 'slow link', 'failed']);
  });
});
