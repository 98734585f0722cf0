/**
 * How a remote command ended, judged once its channel closed and its output ended (the kills of
 * group-kill.ts are judged there): a signal, no exit status (the connection went, or the channel
 * was torn down), an exit status that does not count as success, or success.
 */
import { CommandFailedError, type ConnectionLostError } from './errors.js';

export interface CommandEnd {
  readonly display: string;
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  readonly stderrTail: string;
  /** Exit codes that count as success besides 0. */
  readonly acceptExitCodes: readonly number[] | undefined;
  /** The error the connection was lost with, if it was. */
  readonly lost: ConnectionLostError | undefined;
}

/** The error the command failed with, or undefined when it succeeded. */
export function exitError(end: CommandEnd): Error | undefined {
  const { display: command, exitCode, stderrTail } = end;
  if (end.exitSignal !== null) return new CommandFailedError({ command, exitCode: null, signal: end.exitSignal, stderrTail });
  if (exitCode === null) return end.lost ?? new CommandFailedError({ command, exitCode: null, signal: null, stderrTail });
  if (exitCode !== 0 && !(end.acceptExitCodes ?? []).includes(exitCode)) return new CommandFailedError({ command, exitCode, signal: null, stderrTail });
  return undefined;
}
