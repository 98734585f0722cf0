/**
 * The phases of a deploy that begin to change what runs:
 *  guard  start the commit-confirmed guard on the host: from here until confirm the host returns
 *         by itself if this run is gone (killed, cancelled, frozen, cut off)
 *  stop   the Titan services that change, in order (only those a pending migration needs stopped
 *         before the switch; the others keep running until Compose recreates them at the start)
 * Nothing of the running stack changes before the guard stands.
 */
import { type ComposeTarget, currentTarget } from '@titan/host/compose-command';
import { type GuardPlan, startGuard } from '@titan/host/guard';
import type { MigrationFile } from '@titan/host/migration-plan';
import { stopServices } from '@titan/host/stack-control';
import { tradingServices } from '@titan/release/stack-profile';
import type { ChangePlan } from './change-plan.js';
import { checkNoNewHalt } from './deploy-halt.js';
import type { HostRead } from './deploy-host-read.js';
import { type DeployRun, REVERT_MODE } from './deploy-run.js';
import { stopsBeforeSwitch } from './stop-before-switch.js';

/** guard, then stop. Returns the running release's compose target (undefined on a fresh host). */
export async function guardAndStop(run: DeployRun, read: HostRead, plan: ChangePlan, pending: readonly MigrationFile[]): Promise<ComposeTarget | undefined> {
  const { connection, layout, logger, request, clock, project } = run;
  run.checkpoint();
  await checkNoNewHalt(connection, layout, run.lifting, 'before anything of the running stack changed: nothing was stopped or started');
  await clock.run('guard', async () => {
    run.heldLock.assertHeld();
    run.hostChanged = true;
    run.guarded = true;
    await startGuard(connection, layout, { confirmTimeoutSeconds: request.confirmTimeoutSeconds, plan: guardPlanFor(run, plan) }, logger);
  });

  const previousView = run.previousView;
  const runningTarget = previousView === undefined ? undefined : currentTarget(layout, project, previousView.manifest.compose, read.previousMode ?? REVERT_MODE);
  const stops = stopsBeforeSwitch(plan, pending.length);
  if (stops.recreatedAtStart.length > 0) logger.info(`No migration is pending: ${stops.recreatedAtStart.join(', ')} keep running until Compose recreates them at the start.`);
  run.checkpoint();
  if (runningTarget !== undefined && stops.groups.length > 0) {
    await clock.run('stop', async () => {
      run.heldLock.assertHeld();
      return stopServices(connection, runningTarget, stops.groups, logger);
    });
  } else {
    clock.skip('stop');
  }
  return runningTarget;
}

/** What the host's guard does without this run: stop what changed, bring the previous release back DISARMED. */
function guardPlanFor(run: DeployRun, plan: ChangePlan): GuardPlan {
  return {
    project: run.project,
    release: run.releaseId,
    previous: run.previousView?.manifest.releaseId,
    previousComposeFiles: run.previousView?.manifest.compose ?? [],
    stopServices: plan.stopBeforeRevert,
    mode: REVERT_MODE,
    heldServices: tradingServices(run.profile),
    journalFields: run.journalFields,
  };
}
