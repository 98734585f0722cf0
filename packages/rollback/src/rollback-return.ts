/**
 * The phases of a restart or a rollback once the release to start is checked:
 *  stop     the orderly shutdown of the whole stack (operator surface last)
 *  switch   rollback: `current` switched atomically, the release left marked bad (and its guard
 *           stood down)
 *  start    the run's own halt mark lifted (a newer one, from another operator, stands), then
 *           `up -d` from current DISARMED
 *  verify   the stack verified within health-timeout
 *  confirm  the release confirmed, DISARMED
 */
import { currentTarget } from '@titan/host/compose-command';
import { confirmRelease, stopGuard } from '@titan/host/guard';
import { describeHalt, HostHaltedError, liftHaltMark } from '@titan/host/halt-mark';
import type { HostState } from '@titan/host/host-state';
import { markReleaseBad } from '@titan/host/release-marks';
import { upStack } from '@titan/host/stack-control';
import { switchCurrent } from '@titan/host/switch-current';
import { stackProfileOf } from '@titan/release/manifest';
import { requireHealthyRelease } from '@titan/verify/healthy-stack';
import { shutdownGroups, stopInOrder } from './orderly-stop.js';
import type { CheckedRelease } from './release-check.js';
import { ROLLBACK_TITAN_MODE, type RollbackRun } from './rollback-run.js';

/** stop, switch (rollback), start, verify, confirm: `checked` runs DISARMED and verifies. */
export async function returnTo(run: RollbackRun, hostState: HostState, checked: CheckedRelease): Promise<void> {
  const { connection, layout, logger, request, clock, project, mode } = run;
  run.checkpoint();
  run.stopped = await clock.run('stop', () => {
    run.heldLock.assertHeld();
    return stopInOrder(connection, {
      project,
      groups: shutdownGroups(run.stopProfile(stackProfileOf(checked.manifest)), 'all'),
      stopTimeoutSeconds: request.stopTimeoutSeconds,
      logger,
    });
  });

  run.checkpoint();
  const to = run.target;
  if (mode === 'rollback' && to !== undefined) {
    await clock.run('switch', async () => {
      run.heldLock.assertHeld();
      await switchCurrent(connection, layout, to);
      run.releaseAfter = to;
      logger.info(`current -> releases/${to}`);
      const left = hostState.current;
      if (left !== undefined && left !== to) {
        await markReleaseBad(connection, layout, left, `rolled back by ${request.actor}: ${request.reason}`);
        run.markedBad = left;
        logger.info(`Release ${left} is marked bad: last-good will not return to it (a deploy of it that verifies clears the mark).`);
        if (hostState.guards.some((g) => g.release === left)) await stopGuard(connection, layout, left);
      }
    });
  }

  const manifest = checked.manifest;
  run.checkpoint();
  await clock.run('start', async () => {
    run.heldLock.assertHeld();
    // This run says so: it lifts its own halt (a newer one, from another operator, stands).
    const newer = await liftHaltMark(connection, layout, run.haltNonce);
    if (newer !== undefined) {
      throw new HostHaltedError(`The host was halted again ${describeHalt(newer)} while this ${mode} ran: nothing is started.`, newer);
    }
    run.started = true;
    await upStack(connection, currentTarget(layout, project, manifest.compose, ROLLBACK_TITAN_MODE), logger);
  });
  run.checkpoint();
  run.verification = await clock.run('verify', () => requireHealthyRelease(connection, manifest, request));

  run.checkpoint();
  await clock.run('confirm', async () => {
    run.heldLock.assertHeld();
    const confirmation = { release: manifest.releaseId, at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, action: 'rollback', mode: ROLLBACK_TITAN_MODE };
    await confirmRelease(connection, layout, manifest.releaseId, confirmation, ROLLBACK_TITAN_MODE);
  });
  run.result = mode === 'rollback' ? 'rolled-back' : 'restarted';
  logger.info(`Release ${manifest.releaseId} runs ${ROLLBACK_TITAN_MODE} and verifies (${mode === 'rollback' ? `rolled back from ${run.releaseBefore ?? 'no release'}` : 'restarted'}).`);
}
