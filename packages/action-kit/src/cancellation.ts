/**
 * What SIGINT and SIGTERM mean to a run, in an action on a runner and in the CLI alike. A
 * cancellable run (one holding host state that must be left safe) gets an AbortSignal, aborted
 * with the signal's name at the first one: it stops at its next safe point and its finally blocks
 * run. A further signal only says it is still stopping. Any other run cannot stop half-way: it is
 * ended at once by `endNow`, which writes what it can (a summary saying it was cancelled) and exits.
 */
export interface CancellationOptions {
  /** The run's name in the messages (`Deploy`, `Rollback`, ...). */
  readonly title: string;
  readonly cancellable: boolean;
  /** Where the warnings go (the runner's log, the terminal). */
  readonly warn: (message: string) => void;
  /** Said after a second signal, after "still stopping at the next safe point". */
  readonly stillStopping?: string;
  /** Ends a run that is not cancellable; never returns. */
  readonly endNow: (signal: NodeJS.Signals) => never;
}

export interface Cancellation {
  readonly signal: AbortSignal;
  /** Stops listening (in the run's finally). */
  stop(): void;
}

export function listenForCancellation(options: CancellationOptions): Cancellation {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (!options.cancellable) options.endNow(name);
    if (controller.signal.aborted) {
      options.warn(`${name} received; still stopping at the next safe point${options.stillStopping ?? ''}.`);
      return;
    }
    options.warn(`${name} received: ${options.title} stops at its next safe point and leaves the host safe.`);
    controller.abort(name);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    stop() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
