/**
 * Admitting one command to a connection: refused at once when the connection is lost or the
 * caller's signal aborted, then queued for one of the connection's session slots (sshd's
 * MaxSessions), and looked at again after the wait, which may have been long.
 */
import type { CommandSession } from './command-session.js';
import { CommandAbortedError } from './errors.js';

/** Resolves with the slot's release once the command may open its channel; rejects as it would have failed. */
export async function admitCommand(session: CommandSession, display: string, during: string, signal: AbortSignal | undefined): Promise<() => void> {
  const lostBefore = session.lostError(during);
  if (lostBefore) throw lostBefore;
  if (signal?.aborted) {
    throw new CommandAbortedError({ command: display, stderrTail: '', reason: signal.reason });
  }
  const release = await session.acquireSessionSlot();
  const lostWhileQueued = session.lostError(during);
  if (lostWhileQueued || signal?.aborted) {
    release();
    throw lostWhileQueued ?? new CommandAbortedError({ command: display, stderrTail: '', reason: signal?.reason });
  }
  return release;
}
