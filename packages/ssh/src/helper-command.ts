/**
 * A short helper command the runner itself needs on the host (the kill of a process group,
 * group-kill.ts): its own exec channel, not counted against the session slots, fixed PATH, output
 * drained and ignored; it resolves with its exit code (null without one).
 */
import { REMOTE_PATH } from './command-line.js';
import type { CommandSession } from './command-session.js';
import { SshError } from './errors.js';

export function runHelperCommand(exec: CommandSession['exec'], line: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    exec(`PATH=${REMOTE_PATH}; export PATH; ${line}`, 'a helper command', (error, channel) => {
      if (error || !channel) {
        reject(error ?? new SshError('no channel'));
        return;
      }
      let code: number | null = null;
      const record = (exitCode: unknown): void => {
        if (typeof exitCode === 'number') code = exitCode;
      };
      channel.on('exit', record);
      channel.on('error', () => undefined);
      channel.stderr.resume();
      channel.resume();
      channel.once('close', (exitCode: unknown) => {
        record(exitCode);
        resolve(code);
      });
      channel.end();
    });
  });
}
