/**
 * How a rollback ends when a phase threw. A run that lost its lock changes nothing more. A failure
 * after the shutdown leaves the trading services stopped (the fail-safe state after a HARD_HALT),
 * and says so. A cancelled run (signal) stops at its next safe point, brings the operator surface
 * and the infrastructure back up (DISARMED, the trading services stay stopped under the halt) and
 * writes its journal line.
 */
import { currentTarget } from '@titan/host/compose-command';
import { readHostState } from '@titan/host/host-state';
import { readInstalledRelease } from '@titan/host/release-files';
import { upStackExcept } from '@titan/host/stack-control';
import { CancelledError, cancellationCause } from '@titan/phases/cancellation';
import { firstLine } from '@titan/phases/first-line';
import { tradingServices } from '@titan/release/stack-profile';
import { describeError } from '@titan/ssh/errors';
import { StackUnhealthyError } from '@titan/verify/healthy-stack';
import { OrderlyStopError } from './orderly-stop.js';
import { runningServices } from './rollback-halt.js';
import { ROLLBACK_TITAN_MODE, type RollbackRun } from './rollback-run.js';

/** Sets the run's result, failure and host status for the error a phase threw. */
export async function endAfterError(run: RollbackRun, error: unknown): Promise<void> {
  const { connection, signal, clock } = run;
  run.ending = true;
  // Not logged here: the outcome carries it, and the caller reports it once (the action fails the step with it).
  let failure = error instanceof Error ? error : new Error(String(error));
  if (failure instanceof StackUnhealthyError) run.verification = failure.report;
  if (failure instanceof OrderlyStopError) run.stopped = [...failure.stopped];
  const lock = run.lock;
  if (lock !== undefined && (!lock.held || connection.closed)) {
    failure = lock.lostError();
    run.hostStatus = 'unknown to this run: the host ended its session; the trading services it stopped stay stopped (the halt mark stands)';
  } else if (signal?.aborted === true) {
    const phase = clock.latest;
    failure = failure instanceof CancelledError ? failure : new CancelledError(`The run was cancelled (${cancellationCause(signal)}) during ${phase ?? 'the rollback'}.`, phase);
    run.result = 'cancelled';
    run.failure = failure;
    await endCancelled(run);
  } else if (run.stopped.length > 0 && !run.started && !(failure instanceof OrderlyStopError)) {
    failure = new Error(
      `${failure.message} The Titan services stopped by this run stay stopped and current points at ${run.releaseAfter ?? 'no release'}: ` +
        'run mode restart or rollback once the cause is fixed.',
      { cause: failure },
    );
  }
  run.failure = failure;
}

/**
 * A cancelled run: the host ended the work in flight; the journal line goes first (a kill may
 * follow within seconds), then what this run stopped other than the trading services comes back
 * up, DISARMED, from whatever `current` points at. The trading services stay stopped: the halt
 * mark this run wrote stands until an explicit restart.
 */
async function endCancelled(run: RollbackRun): Promise<void> {
  const { connection, layout, logger, project, mode } = run;
  await run.lock?.abortWork();
  await run.writeJournal();
  const anyStopped = run.stopped.length > 0 || run.clock.records.some((r) => r.name === 'stop');
  if (!anyStopped || mode === 'stop') {
    run.hostStatus = `${mode === 'stop' && anyStopped ? 'the trading services this run stopped stay stopped' : 'nothing was stopped'}; the halt mark stands`;
    return;
  }
  try {
    const now = await readHostState(connection, layout);
    run.releaseAfter = now.current;
    if (now.current === undefined) {
      run.hostStatus = 'no release is current; the halt mark stands';
      return;
    }
    const { manifest } = await readInstalledRelease(connection, layout, now.current);
    const held = tradingServices(manifest.stack ?? run.stopProfile());
    await upStackExcept(connection, currentTarget(layout, project, manifest.compose, ROLLBACK_TITAN_MODE), held, logger);
    const runningNow = await runningServices(connection, project);
    const trading = held.filter((s) => runningNow.includes(s));
    run.hostStatus =
      `release ${now.current} is current; its operator surface and infrastructure run again DISARMED; ` +
      (trading.length === 0
        ? 'its trading services stay stopped under the halt mark'
        : `${trading.join(', ')} still run (not reached by the shutdown, under the HARD_HALT), the other trading services stay stopped under the halt mark`) +
      ': run mode restart (or stop) once the cause is known';
  } catch (error: unknown) {
    run.hostStatus = `the Titan services this run stopped may stay stopped (${firstLine(describeError(error))}); the halt mark stands: run mode restart`;
  }
}
