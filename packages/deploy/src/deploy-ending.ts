/**
 * How a deploy ends when a phase threw. After the confirmation nothing is undone. A run that lost
 * its lock (the host ended its session) changes nothing more: the host's guard returns by itself.
 * A cancellation (request.signal): the host ends the work in flight, the run writes its journal
 * line `cancelled`, starts again what it stopped before the switch, and after the switch leaves the
 * return to the guard, which acts as soon as the lock is released. A failure after the guard runs
 * the guard's own plan (guard.ts): before the switch the stopped services start again as they
 * were, after it the previous release comes back and is verified and the new one is marked bad
 * (result rolled-back).
 */
import { runGuardPlan, stopGuard } from '@titan/host/guard';
import { describeHalt } from '@titan/host/halt-mark';
import { readHostState } from '@titan/host/host-state';
import { CancelledError, cancellationCause } from '@titan/phases/cancellation';
import { firstLine } from '@titan/phases/first-line';
import { describeError } from '@titan/ssh/errors';
import { StackUnhealthyError } from '@titan/verify/healthy-stack';
import { verifyStack } from '@titan/verify/verify-stack';
import type { DeployRun } from './deploy-run.js';

/** Sets the run's result, failure and host status for the error a phase threw, returning the host where needed. */
export async function endAfterError(run: DeployRun, error: unknown): Promise<void> {
  const { logger, signal, releaseId } = run;
  run.ending = true;
  let failure = error instanceof Error ? error : new Error(String(error));
  run.failure = failure;
  run.stoppedIn ??= run.clock.latest;
  if (failure instanceof StackUnhealthyError) run.verification = failure.report;
  if (run.confirmed) {
    logger.error(failure.message);
    run.result = 'deployed';
    logger.warning(`Release ${releaseId} was deployed and confirmed; what failed afterwards does not undo it.`);
    run.failure = undefined;
  } else if (await run.lockLost()) {
    failure = run.lock?.lostError() ?? failure;
    run.failure = failure;
    logger.error(failure.message);
    run.hostStatus = 'unknown to this run: the host ended its session; its guard (if one was started) returns the host to a good release by itself';
  } else if (signal?.aborted === true) {
    failure = failure instanceof CancelledError ? failure : new CancelledError(`The run was cancelled (${cancellationCause(signal)}) during ${run.stoppedIn ?? 'the deploy'}.`, run.stoppedIn);
    run.failure = failure;
    logger.error(failure.message);
    run.result = 'cancelled';
    await endCancelled(run);
  } else {
    logger.error(failure.message);
    if (run.guarded) await returnAfterFailure(run);
    else {
      run.hostStatus = run.hostChanged
        ? `unchanged in what runs: release ${run.previous ?? '(none)'} still runs as it did`
        : 'unchanged: the deploy was refused before it changed anything';
    }
  }
}

/**
 * A cancelled run: the host already ended the work in flight (abortWork). The journal line goes
 * first (a kill may follow within seconds). Before the switch the plan runs now (what was stopped
 * starts again); after it the guard returns the host as soon as the lock is released.
 */
async function endCancelled(run: DeployRun): Promise<void> {
  const { connection, layout, logger, releaseId, previous } = run;
  await run.lock?.abortWork();
  if (!run.guarded) {
    run.hostStatus = run.hostChanged
      ? `release ${previous ?? '(none)'} runs as it did: the deploy was cancelled before it changed the running stack`
      : 'unchanged: the deploy was cancelled before it changed anything';
    await run.writeJournal();
    return;
  }
  try {
    const now = await readHostState(connection, layout);
    if (now.releases.find((r) => r.id === releaseId)?.confirmed === true && now.current === releaseId) {
      run.result = 'deployed';
      run.confirmed = true;
      run.failure = undefined;
      run.hostStatus = undefined;
      logger.warning(`Release ${releaseId} was confirmed on the host before the cancellation took effect: it stands.`);
      await run.writeJournal();
      return;
    }
    run.stackTouched ||= now.current === releaseId && !run.sameRelease;
    await run.writeJournal();
    if (run.stackTouched) {
      run.hostStatus =
        `the switch to ${releaseId} had happened: the host's guard returns to ${previous ?? 'no release'} (DISARMED) by itself ` +
        'as this run releases the deploy lock (journal: reverted-by-guard)';
      logger.warning(`Cancelled after the switch: ${run.hostStatus}.`);
      return;
    }
    const outcome = await runGuardPlan(connection, layout, releaseId, { by: '', reason: 'cancelled' }, logger);
    await stopGuard(connection, layout, releaseId);
    run.hostStatus =
      outcome === 'restored'
        ? `release ${previous ?? ''} runs as before: what this deploy had stopped was started again`
        : `release ${previous ?? '(none)'} runs as before: this deploy had not changed the running stack`;
    logger.info(`Cancelled before the switch: ${run.hostStatus}.`);
  } catch (error: unknown) {
    await run.writeJournal();
    run.hostStatus = `being returned by the host's guard: ${describeError(error)}`;
    logger.error(`Returning after the cancellation failed: ${describeError(error)}. The guard on the host returns to release ${previous ?? 'none'} by itself once this run releases the lock.`);
  }
}

/** A failure once the guard existed: the guard's own plan runs now, from whatever state the host is in. */
async function returnAfterFailure(run: DeployRun): Promise<void> {
  const { connection, layout, logger, request, clock, releaseId, previous, previousView } = run;
  const reason = firstLine(run.failure?.message ?? 'failed');
  try {
    const outcome = await clock.run('rollback', async () => {
      const done = await runGuardPlan(connection, layout, releaseId, { by: '', reason }, logger);
      await stopGuard(connection, layout, releaseId);
      return done;
    });
    if (outcome === 'nothing') {
      // The plan was gone: the release may have been confirmed on the host before the failure.
      const now = await readHostState(connection, layout);
      if (now.current === releaseId) {
        const confirmedThere = now.releases.find((r) => r.id === releaseId)?.confirmed === true;
        run.hostStatus = `release ${releaseId} is current${confirmedThere ? ' and confirmed on the host' : ''}: it was not returned (the host's guard had nothing to return)`;
        logger.error(`The deploy failed after the switch, but ${run.hostStatus}.`);
        return;
      }
    }
    if (outcome === 'restored' || outcome === 'nothing') {
      run.hostStatus = `release ${previous ?? '(none)'} runs as before${outcome === 'restored' ? ': what this deploy had stopped was started again' : ''}; current is unchanged`;
      logger.error(`The deploy failed before the switch: ${run.hostStatus}.`);
      return;
    }
    if (previousView === undefined) {
      run.hostStatus = 'no release runs: this was the first release on this host; its stack was stopped and current removed';
      logger.error(`Release ${releaseId} was the first on this host: its stack was stopped and current removed. Nothing to return to.`);
      return;
    }
    const back = previousView.manifest.releaseId;
    const halt = await readHostState(connection, layout).then((s) => s.halted);
    if (halt !== undefined) {
      run.hostStatus = `back on release ${back} (DISARMED) without its trading services: the host is halted ${describeHalt(halt)}`;
      logger.error(`Returned to ${back}, but the host is halted: its trading services stay stopped and it was not verified.`);
      return;
    }
    const report = await clock.run('rollback-verify', () =>
      verifyStack(connection, {
        appDir: layout.appDir,
        project: run.project,
        manifest: previousView.manifest,
        // A release signed before stack profiles is judged by the profile of the release being left.
        profile: previousView.manifest.stack ?? run.profile,
        timeoutMs: request.healthTimeoutSeconds * 1000,
        logger,
        ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
      }),
    );
    run.rollbackVerification = report;
    if (!report.healthy) {
      run.hostStatus = `back on release ${back}, which does not verify either`;
      logger.error(`Rolled back to ${back}, but it does not verify either: ${new StackUnhealthyError(report).message}`);
      return;
    }
    run.result = 'rolled-back';
    run.hostStatus = outcome === 'returned' ? `release ${back} runs again DISARMED and verifies` : `back on release ${back}, verified; ${releaseId} is marked bad`;
    logger.info(`Rolled back: release ${back} runs again and verifies${outcome === 'reverted' ? `; ${releaseId} is marked bad` : ''}.`);
  } catch (error: unknown) {
    if (await run.lockLost()) {
      run.hostStatus = 'unknown to this run: the host ended its session while it returned; its guard returns the host by itself';
      return;
    }
    run.hostStatus = `unknown: returning failed (${describeError(error)}); the guard on the host returns to ${previous ?? 'no release'} by itself once the lock is released`;
    logger.error(
      `Returning to release ${previous ?? 'none'} failed: ${describeError(error)}. The guard on the host still returns by itself once this run releases the lock; check the host.`,
    );
  }
}
