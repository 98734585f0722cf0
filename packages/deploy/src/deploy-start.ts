/**
 * The phases of a deploy that put the new release in place:
 *  switch  flip current atomically (not for a redeploy of the running release)
 *  start   state/mode, then docker compose up -d --remove-orphans from current (TITAN_MODE set
 *          explicitly), unless Compose has nothing to do (compose-work.ts); an operator's halt this
 *          run lifts (lift-halt) is lifted just before, unless a newer one came meanwhile
 */
import { currentTarget } from '@titan/host/compose-command';
import { describeHalt, HostHaltedError, liftHaltMark } from '@titan/host/halt-mark';
import { restartServices, upStack } from '@titan/host/stack-control';
import { recordStackMode } from '@titan/host/stack-mode';
import { switchCurrent } from '@titan/host/switch-current';
import type { ChangePlan } from './change-plan.js';
import { composeWork } from './compose-work.js';
import { checkNoNewHalt } from './deploy-halt.js';
import type { HostRead } from './deploy-host-read.js';
import type { DeployRun } from './deploy-run.js';

/** switch, then start. */
export async function switchAndStart(run: DeployRun, read: HostRead, plan: ChangePlan): Promise<void> {
  const { connection, layout, logger, request, clock, releaseId, project } = run;
  run.checkpoint();
  if (!run.sameRelease) {
    await clock.run('switch', async () => {
      run.heldLock.assertHeld();
      run.stackTouched = true;
      await switchCurrent(connection, layout, releaseId);
      logger.info(`current -> releases/${releaseId}`);
    });
  } else {
    logger.info(`Release ${releaseId} is already current: no switch; its stack is converged and verified again.`);
    clock.skip('switch');
  }

  run.checkpoint();
  const liftsHalt = run.lifting !== undefined;
  await checkNoNewHalt(connection, layout, run.lifting, 'before the stack was started');
  if (run.lifting !== undefined) {
    const newer = await liftHaltMark(connection, layout, run.lifting);
    if (newer !== undefined) {
      throw new HostHaltedError(`The host was halted again ${describeHalt(newer)} while this deploy ran: it stops before starting anything.`, newer);
    }
    logger.warning('The operator\'s halt is lifted (lift-halt: true): the stack starts.');
    run.lifting = undefined;
  }
  const nextTarget = currentTarget(layout, project, run.manifest.compose, request.mode);
  const stackNow = read.stackRead === undefined ? undefined : await read.stackRead;
  const compose = composeWork(plan, stackNow?.ok === true ? stackNow.value : undefined, { release: run.previous, mode: request.mode, lifting: liftsHalt });
  await clock.run('start', async () => {
    run.heldLock.assertHeld();
    run.stackTouched = true;
    await recordStackMode(connection, layout, request.mode);
    if (!compose.up) {
      logger.info(`Compose has nothing to do (${compose.why}): docker compose up is not run.`);
      return;
    }
    logger.info(`Compose has work: ${compose.why}.`);
    await upStack(connection, nextTarget, logger);
    await restartServices(connection, nextTarget, plan.restartAfterSwitch, logger);
  });
}
