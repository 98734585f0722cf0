/**
 * A cancelled run (GitHub cancels a step with SIGINT, then SIGTERM 7.5 s later, then kills it 2.5 s
 * after that): the action turns the signal into an AbortSignal; deploy, rollback and restore stop at their
 * next safe point and leave the host as safe as a finished run (see deploy.ts and
 * @titan/rollback/rollback).
 */

/** The run was cancelled; `phase` says where the cancellation arrived. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';

  readonly phase: string | undefined;
  constructor(message: string, phase: string | undefined) {
    super(message);
    this.phase = phase;
  }
}

/** How a person reads why the run was cancelled: the signal's name, or `cancelled`. */
export function cancellationCause(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  if (reason instanceof Error && reason.message !== '') return reason.message;
  return 'cancelled';
}

/** Throws CancelledError when `signal` was aborted (a safe point between phases). */
export function throwIfCancelled(signal: AbortSignal | undefined, phase: string | undefined): void {
  if (signal?.aborted === true) {
    throw new CancelledError(`The run was cancelled (${cancellationCause(signal)})${phase === undefined ? '' : ` during ${phase}`}.`, phase);
  }
}
