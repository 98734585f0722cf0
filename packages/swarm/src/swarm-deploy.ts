/**
 * deploySwarm: one signed release onto a Docker Swarm as a stack, through its manager, fail closed.
 *
 *  check    the swarm can run the release as signed (stack-definition.ts): refused before anything
 *  lock     the host's deploy lock (@titan/host/deploy-lock, as a Compose deploy takes it)
 *  inspect  the application folder (current, releases, an operator's halt) and the swarm: this
 *           engine must be a manager of an active swarm
 *  admit    @titan/deploy's admission: a reused id only with a byte-identical manifest, no
 *           downgrade unless allow-downgrade, the secret files the release mounts in place
 *  install  upload, verify ON THE HOST, releases/<id> (@titan/host/release-install)
 *  pull     every image by digest on the manager, before the swarm is told anything
 *  deploy   docker stack deploy of releases/<id> (digests pinned, --resolve-image never, --prune)
 *  converge every service's tasks of this release Running and healthy, its update completed
 *  switch   current -> releases/<id>, the release confirmed (state/<id>.confirmed, state/mode)
 * A failure once the stack deploy began returns the stack to the previous release: its folder
 * verified again, deployed (DISARMED: an automatic return never arms a stack), converged again;
 * `current` never left it; the new release is marked bad and the journal line says rolled-back. A
 * first release that fails is removed from the swarm (nothing of it keeps running). A run killed
 * between the deploy and the switch leaves `current` on the previous release while the swarm may
 * run the new one: the next deploy, or action-rollback with target: swarm, deploys a known release
 * over it (there is no guard process on the swarm target).
 */
import { type TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { confirmRelease } from '@titan/host/guard';
import { describeHalt, HostHaltedError } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import { readHostState } from '@titan/host/host-state';
import { findMissingImages, imageReferences, pullImages } from '@titan/host/image-pull';
import { appendJournal, type DeployResult } from '@titan/host/journal';
import { markReleaseBad } from '@titan/host/release-marks';
import { installRelease } from '@titan/host/release-install';
import { switchCurrent } from '@titan/host/switch-current';
import { admitRelease } from '@titan/deploy/release-admission';
import type { Logger } from '@titan/log/logger';
import { firstLine } from '@titan/phases/first-line';
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';
import type { LocalBundle } from '@titan/release/local-bundle';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { ServiceConvergence } from './convergence.js';
import { deployStack, removeStack, requireManager, type StackRelease, SwarmConvergenceError, watchConvergence } from './stack-deploy.js';
import { requireSwarmDefinition } from './stack-definition.js';
import { hostManifest, stackRelease, verifiedHostRelease } from './swarm-release.js';
import { readSwarmStatus } from './swarm-status.js';

export interface SwarmDeployRequest {
  readonly bundle: LocalBundle;
  readonly layout: HostLayout;
  /** The stack's name (the project input). */
  readonly stack: string;
  readonly mode: TitanMode;
  /** Seconds the stack has to converge (each way). */
  readonly healthTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly heartbeatTimeoutSeconds?: number;
  readonly allowDowngrade?: boolean;
  readonly signal?: AbortSignal;
  readonly actor: string;
  readonly runUrl: string;
  readonly logger: Logger;
  readonly pollMs?: number;
}

export interface SwarmDeployOutcome {
  readonly result: DeployResult;
  readonly releaseId: string;
  readonly stack: string;
  readonly previousReleaseId: string | undefined;
  readonly mode: TitanMode;
  readonly hostChanged: boolean;
  readonly reusedRelease: boolean;
  readonly phases: readonly PhaseRecord[];
  /** The services as they converged on the release (empty when they did not). */
  readonly services: readonly ServiceConvergence[];
  /** The services as they converged back on the previous release, after a failure. */
  readonly rollbackServices: readonly ServiceConvergence[];
  /** What the host is left in, when the run did not deploy. */
  readonly hostStatus: string | undefined;
  readonly stoppedIn: string | undefined;
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

const REVERT_MODE: TitanMode = 'DISARMED';

export async function deploySwarm(connection: SshConnection, request: SwarmDeployRequest): Promise<SwarmDeployOutcome> {
  const { bundle, layout, stack, logger, mode } = request;
  const releaseId = bundle.manifest.releaseId;
  const clock = new PhaseClock(logger);
  const startedAt = new Date();
  const release = stackRelease(layout, stack, bundle.manifest, mode);
  const watch = { timeoutSeconds: request.healthTimeoutSeconds, logger, ...(request.pollMs !== undefined ? { pollMs: request.pollMs } : {}), ...(request.signal !== undefined ? { signal: request.signal } : {}) };
  let lock: HeldDeployLock | undefined;
  let previous: string | undefined;
  let hostChanged = false;
  let reusedRelease = false;
  let stackDeployed = false;
  let services: readonly ServiceConvergence[] = [];
  let rollbackServices: readonly ServiceConvergence[] = [];
  let result: DeployResult = 'failed';
  let hostStatus: string | undefined;
  let failure: Error | undefined;
  try {
    await clock.run('check', () => Promise.resolve(requireSwarmDefinition(bundle)));
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: releaseId, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
        ...(request.signal !== undefined ? { signal: request.signal } : {}),
        logger,
      }),
    );
    const held = lock;
    const { state, since } = await clock.run('inspect', async () => {
      const hostState = await readHostState(connection, layout);
      if (hostState.halted !== undefined) {
        throw new HostHaltedError(`Refused: an operator halted ${connection.host} (${describeHalt(hostState.halted)}). Nothing was changed. Lift the halt with a compose deploy's lift-halt, or action-rollback, first.`, hostState.halted);
      }
      const swarm = await requireManager(connection, layout, stack);
      logger.info(`The engine is a manager of an active swarm; stack ${stack} has ${swarm.services.length} service(s) now; current release: ${hostState.current ?? 'none'}.`);
      return { state: hostState, since: swarm.now };
    });
    previous = state.current;
    const running = previous;
    await clock.run('admit', () =>
      admitRelease(connection, {
        layout,
        state,
        bundle,
        allowDowngrade: request.allowDowngrade === true,
        markedBad: state.releases.some((r) => r.id === releaseId && r.bad),
        running: running === undefined || running === releaseId ? undefined : () => hostManifest(connection, layout, running),
        logger,
      }),
    );
    const installed = await clock.run('install', async () => {
      held.assertHeld();
      return installRelease(connection, { layout, bundleDir: bundle.dir, releaseId, exists: state.releases.some((r) => r.id === releaseId), logger });
    });
    reusedRelease = installed.reused;
    hostChanged = !installed.reused;
    await clock.run('pull', async () => {
      const references = imageReferences(bundle.manifest.images);
      const missing = await findMissingImages(connection, references);
      logger.info(`Images by digest: ${references.length - missing.length} of ${references.length} already on the manager${missing.length > 0 ? `; pulling ${missing.length}` : ''}.`);
      await pullImages(connection, missing, logger);
    });
    await clock.run('deploy', async () => {
      held.assertHeld();
      stackDeployed = true;
      hostChanged = true;
      await deployStack(connection, release, logger);
    });
    services = await clock.run('converge', () => watchConvergence(connection, release, { ...watch, since }));
    await clock.run('switch', async () => {
      held.assertHeld();
      await switchCurrent(connection, layout, releaseId);
      await confirmRelease(connection, layout, releaseId, { release: releaseId, at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, action: 'deploy', target: 'swarm', mode }, mode);
    });
    result = 'deployed';
    logger.info(`Release ${releaseId} runs on the swarm as stack ${stack}; current -> releases/${releaseId}.`);
  } catch (error: unknown) {
    failure = error instanceof Error ? error : new Error(String(error));
    logger.error(failure.message);
    if (stackDeployed) {
      ({ result, hostStatus, rollbackServices } = await returnToPrevious(connection, request, previous, failure, clock));
    } else {
      hostStatus = hostChanged ? `Nothing running changed: the stack was not touched (release ${releaseId} was installed in releases/ only).` : 'Nothing was changed on the host.';
    }
  } finally {
    if (lock !== undefined && hostChanged && lock.held && !connection.closed) {
      await appendJournal(connection, layout, {
        time: new Date().toISOString(),
        action: 'deploy',
        target: 'swarm',
        result,
        release: releaseId,
        previous: previous ?? null,
        mode: result === 'rolled-back' ? REVERT_MODE : mode,
        actor: request.actor,
        runUrl: request.runUrl,
        phases: clock.durations(),
        ...(result !== 'deployed' && clock.latest !== undefined ? { phase: clock.latest } : {}),
        ...(failure !== undefined ? { reason: firstLine(failure.message) } : {}),
      }).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${describeError(e)}`));
    }
    await lock?.release();
  }
  return {
    result,
    releaseId,
    stack,
    previousReleaseId: previous,
    mode,
    hostChanged,
    reusedRelease,
    phases: clock.records,
    services,
    rollbackServices,
    hostStatus,
    stoppedIn: result === 'deployed' ? undefined : clock.latest,
    error: failure,
    startedAt: startedAt.toISOString(),
    durationMs: clock.elapsedMs(),
  };
}

/** After a failure once the stack deploy began: the previous release deployed and converged again (or a first release removed). */
async function returnToPrevious(
  connection: SshConnection,
  request: SwarmDeployRequest,
  previous: string | undefined,
  failure: Error,
  clock: PhaseClock,
): Promise<{ result: DeployResult; hostStatus: string; rollbackServices: readonly ServiceConvergence[] }> {
  const { layout, stack, logger, bundle } = request;
  const releaseId = bundle.manifest.releaseId;
  const why = failure instanceof SwarmConvergenceError ? failure.message : `the deploy failed: ${firstLine(failure.message)}`;
  await markReleaseBad(connection, layout, releaseId, firstLine(why)).catch((e: unknown) => logger.warning(`Could not mark ${releaseId} bad: ${describeError(e)}`));
  if (previous === undefined || previous === releaseId) {
    try {
      await clock.run('remove', () => removeStack(connection, layout, stack));
      return { result: 'failed', hostStatus: `Stack ${stack} was removed from the swarm: nothing of release ${releaseId} runs (there was no earlier release to return to).`, rollbackServices: [] };
    } catch (error: unknown) {
      return { result: 'failed', hostStatus: `Stack ${stack} could not be removed (${describeError(error)}): it may still run release ${releaseId}; remove it with docker stack rm ${stack}.`, rollbackServices: [] };
    }
  }
  try {
    const services = await clock.run('rollback', async () => {
      logger.warning(`Returning stack ${stack} to release ${previous} (${REVERT_MODE}).`);
      const manifest = await verifiedHostRelease(connection, layout, previous);
      const back: StackRelease = stackRelease(layout, stack, manifest, REVERT_MODE);
      const since = (await readSwarmStatus(connection, layout, stack)).now;
      await deployStack(connection, back, logger);
      return watchConvergence(connection, back, { timeoutSeconds: request.healthTimeoutSeconds, logger, since, ...(request.pollMs !== undefined ? { pollMs: request.pollMs } : {}) });
    });
    return { result: 'rolled-back', hostStatus: `Stack ${stack} runs release ${previous} again (${REVERT_MODE}), converged and healthy; current still points at it; release ${releaseId} is marked bad.`, rollbackServices: services };
  } catch (error: unknown) {
    return {
      result: 'failed',
      hostStatus: `The return to release ${previous} did not converge either (${firstLine(describeError(error))}): stack ${stack} needs an operator now (current points at ${previous}).`,
      rollbackServices: error instanceof SwarmConvergenceError ? error.services : [],
    };
  }
}
