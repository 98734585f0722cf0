/**
 * The last phases of a deploy:
 *  verify     the stack verified (requireHealthyStack) within health-timeout
 *  confirm    the guard stands down; the record of what runs is written for the next deploy
 *  retention  keep keep-releases releases (past the confirmation a problem here is a warning)
 */
import type { HostState } from '@titan/host/host-state';
import { confirmRelease } from '@titan/host/guard';
import { removeReleases } from '@titan/host/retention';
import { writeStackRecord } from '@titan/host/stack-record';
import { describeError } from '@titan/ssh/errors';
import { requireHealthyRelease } from '@titan/verify/healthy-stack';
import { checkNoNewHalt } from './deploy-halt.js';
import type { DeployRun } from './deploy-run.js';
import { retentionAfterDeploy } from './retention-after-deploy.js';

/** verify, then confirm: the release is deployed. */
export async function verifyAndConfirm(run: DeployRun): Promise<void> {
  const { connection, layout, logger, request, clock, releaseId } = run;
  run.checkpoint();
  run.verification = await clock.run('verify', () => requireHealthyRelease(connection, run.manifest, request));
  run.checkpoint();
  await checkNoNewHalt(connection, layout, undefined, 'after the stack was started: it is not confirmed');
  await clock.run('confirm', async () => {
    run.heldLock.assertHeld();
    // Beside the confirmation, what runs now: for the next deploy to know when Compose has nothing
    // to do (a failure only costs that; a release not confirmed returns, which the record shows).
    const recorded = writeStackRecord(connection, layout, run.project, releaseId, request.mode).catch((e: unknown) =>
      logger.warning(`The record of the stack's start could not be written: ${describeError(e)}`),
    );
    await confirmRelease(connection, layout, releaseId, { release: releaseId, at: new Date().toISOString(), ...run.journalFields, mode: request.mode }, request.mode);
    logger.info(`Release ${releaseId} confirmed; the guard stood down.`);
    await recorded;
  });
  run.confirmed = true;
  run.result = 'deployed';
}

/** retention: old releases and partial uploads removed; never fails the deploy. */
export async function keepReleases(run: DeployRun, state: HostState): Promise<void> {
  const { connection, layout, logger, request, clock, releaseId } = run;
  run.removedReleases = await clock.run('retention', async () => {
    try {
      const decision = retentionAfterDeploy(state, releaseId, request.keepReleases, clock.elapsedMs() / 1000);
      const removed = await removeReleases(connection, layout, decision.remove, state.partials.map((p) => p.name));
      logger.info(`Kept ${decision.kept.length} release(s)${removed.length > 0 ? `; removed ${removed.join(', ')}` : ''}.`);
      return removed;
    } catch (error: unknown) {
      logger.warning(`Old releases could not be removed (the deploy stands): ${describeError(error)}`);
      return [];
    }
  });
}
