import { describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { CancelledError, cancellationCause, throwIfCancelled } from '@titan/phases/cancellation';
import { PhaseClock } from '@titan/phases/phase-clock';

describe('the phases of a run', () => {
  it('runs each phase in a log group and records its outcome, the background work and the skipped ones', async () => {
    const logger = recordingLogger();
    const clock = new PhaseClock(logger);
    expect(await clock.run('lock', () => Promise.resolve('held'))).toBe('held');
    const pulling = clock.background('pull', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('registry down');
    });
    clock.skip('migrations');
    await expect(
      clock.run('stop', () => {
        expect(clock.current).toBe('stop');
        return Promise.reject(new Error('docker stop failed'));
      }),
    ).rejects.toThrow('docker stop failed');
    const pulled = await pulling;
    expect(pulled.ok).toBe(false);
    await clock.run('stop', () => Promise.resolve());

    expect(logger.lines.filter((l) => l.level === 'group').map((l) => l.message)).toEqual(['lock', 'stop', 'stop']);
    expect(clock.records.map((r) => [r.name, r.outcome, r.background === true])).toEqual([
      ['lock', 'ok', false],
      ['migrations', 'skipped', false],
      ['stop', 'failed', false],
      ['pull', 'failed', true],
      ['stop', 'ok', false],
    ]);
    expect(clock.current).toBeUndefined();
    expect(clock.latest).toBe('stop');
    const durations = clock.durations();
    expect(Object.keys(durations).sort()).toEqual(['lock', 'pull', 'stop']);
    expect(durations['pull']).toBeGreaterThanOrEqual(15);
  });

  it('a cancellation names its cause and the phase it arrived in; none before the signal aborts', () => {
    const controller = new AbortController();
    expect(() => throwIfCancelled(controller.signal, 'stop')).not.toThrow();
    expect(cancellationCause(undefined)).toBe('cancelled');
    controller.abort('SIGINT');
    expect(cancellationCause(controller.signal)).toBe('SIGINT');
    let caught: unknown;
    try {
      throwIfCancelled(controller.signal, 'stop');
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CancelledError);
    expect((caught as CancelledError).phase).toBe('stop');
    expect((caught as CancelledError).message).toBe('The run was cancelled (SIGINT) during stop.');
  });
});
