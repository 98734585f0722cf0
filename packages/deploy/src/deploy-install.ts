/**
 * The phases of a deploy that bring the release onto the host without touching what runs:
 *  admit    a reused release id only with a byte-identical manifest; no downgrade (older, or
 *           marked bad) unless allow-downgrade (release-admission.ts)
 *  install  upload the bundle, verify it ON THE HOST, rename it to releases/<id>
 *  plan     what changes: images, definitions, mounted files, mode (change-plan.ts)
 *  pull     every image by digest, before anything stops
 */
import { pullImages } from '@titan/host/image-pull';
import { installRelease } from '@titan/host/release-install';
import type { Logger } from '@titan/log/logger';
import { settled } from '@titan/phases/phase-clock';
import { type ChangePlan, planChanges } from './change-plan.js';
import type { HostRead } from './deploy-host-read.js';
import type { DeployRun } from './deploy-run.js';
import { admitRelease } from './release-admission.js';

/** admit, install, plan, pull. Returns the change plan (also kept on the run). */
export async function installAndPlan(run: DeployRun, read: HostRead): Promise<ChangePlan> {
  const { connection, layout, logger, request, clock, releaseId } = run;
  const { state, previousRead, references, imagesCheck } = read;
  run.checkpoint();
  await clock.run('admit', () =>
    admitRelease(connection, {
      layout,
      state,
      bundle: request.bundle,
      allowDowngrade: request.allowDowngrade === true,
      markedBad: read.markedBad,
      running: previousRead === undefined ? undefined : async () => settled(await previousRead).manifest,
      logger,
    }),
  );

  run.checkpoint();
  const installed = await clock.run('install', async () => {
    run.heldLock.assertHeld();
    return installRelease(connection, {
      layout,
      bundleDir: request.bundle.dir,
      releaseId,
      exists: state.releases.some((r) => r.id === releaseId),
      logger,
    });
  });
  run.reusedRelease = installed.reused;
  if (!installed.reused) run.hostChanged = true;

  run.checkpoint();
  const plan = await clock.run('plan', async () => {
    if (run.previous !== undefined) run.previousView = run.sameRelease ? run.nextView : settled(await previousRead);
    const planned = planChanges(run.sameRelease ? run.nextView : run.previousView, run.nextView, { previous: read.previousMode, next: request.mode });
    logPlan(planned, run.previous, logger);
    return planned;
  });
  run.plan = plan;

  run.checkpoint();
  await clock.run('pull', async () => {
    run.heldLock.assertHeld();
    const missing = settled(await imagesCheck);
    logger.info(`Images by digest: ${references.length - missing.length} of ${references.length} already on the host${missing.length > 0 ? `; pulling ${missing.length}` : ''}.`);
    await pullImages(connection, missing, logger);
  });
  return plan;
}

function logPlan(plan: ChangePlan, previous: string | undefined, logger: Logger): void {
  if (previous === undefined) {
    logger.info(`First release on this host: ${plan.services.length} services to create.`);
    return;
  }
  const changed = plan.services.filter((s) => s.reasons.length > 0);
  if (changed.length === 0) {
    logger.info(`Nothing changes against release ${previous}: no service is stopped or recreated.`);
    return;
  }
  for (const s of changed) logger.info(`${s.service}: ${s.reasons.join(', ')}`);
  logger.info(`To stop before the migrations: ${plan.stopBeforeSwitch.map((g) => g.join(', ')).join(' -> ') || 'nothing'}.`);
}
