/**
 * rollbackSwarm: a swarm stack returned to an earlier release, under the host's deploy lock.
 *
 *  lock     the deploy lock (as every deploy and rollback takes it)
 *  inspect  the application folder and the swarm (this engine a manager of an active swarm)
 *  choose   @titan/rollback's choice of target: `last-good` (the newest release confirmed after a
 *           verified deploy, not marked bad, not current), `previous` (from the journal) or an id
 *  verify   the target's folder verified again on the host (a candidate that no longer verifies is
 *           skipped for the next one, as a Compose rollback does)
 *  deploy   docker stack deploy of releases/<target> (digests pinned), DISARMED unless said
 *  converge every service of the target's tasks Running and healthy (convergence.ts)
 *  switch   current -> releases/<target>, confirmed; the release it left is marked bad
 * One journal line `{"action":"rollback","target":"swarm",...}`. No HARD_HALT is published: the
 * swarm stack publishes no NATS port to reach the brain through; the swarm replaces each task in
 * turn (its update_config), trading services included.
 */
import type { TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { confirmRelease } from '@titan/host/guard';
import type { HostLayout } from '@titan/host/host-layout';
import { readHostState } from '@titan/host/host-state';
import { appendJournal } from '@titan/host/journal';
import { markReleaseBad } from '@titan/host/release-marks';
import { HostVerificationError } from '@titan/host/release-install';
import { switchCurrent } from '@titan/host/switch-current';
import type { Logger } from '@titan/log/logger';
import { firstLine } from '@titan/phases/first-line';
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';
import { readJournal } from '@titan/rollback/rollback-journal';
import { describeTo, rollbackCandidates, type RollbackTo } from '@titan/rollback/rollback-target';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { ServiceConvergence } from './convergence.js';
import { deployStack, requireManager, watchConvergence } from './stack-deploy.js';
import { stackRelease, verifiedHostRelease } from './swarm-release.js';

export interface SwarmRollbackRequest {
  readonly layout: HostLayout;
  readonly stack: string;
  readonly to: RollbackTo;
  readonly reason: string;
  readonly mode?: TitanMode;
  readonly healthTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly heartbeatTimeoutSeconds?: number;
  readonly actor: string;
  readonly runUrl: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

export interface SwarmRollbackOutcome {
  readonly result: 'rolled-back' | 'failed';
  readonly stack: string;
  /** What ran before (current when the rollback began). */
  readonly releaseBefore: string | undefined;
  /** What is current afterwards. */
  readonly releaseAfter: string | undefined;
  /** Candidates that no longer verified on the host, with why. */
  readonly refused: readonly { readonly release: string; readonly reason: string }[];
  readonly services: readonly ServiceConvergence[];
  readonly mode: TitanMode;
  readonly phases: readonly PhaseRecord[];
  readonly hostStatus: string | undefined;
  readonly error: Error | undefined;
  readonly durationMs: number;
}

export async function rollbackSwarm(connection: SshConnection, request: SwarmRollbackRequest): Promise<SwarmRollbackOutcome> {
  const { layout, stack, logger } = request;
  const mode = request.mode ?? 'DISARMED';
  const clock = new PhaseClock(logger);
  let lock: HeldDeployLock | undefined;
  let before: string | undefined;
  let after: string | undefined;
  let target: string | undefined;
  let deployed = false;
  let services: readonly ServiceConvergence[] = [];
  const refused: { release: string; reason: string }[] = [];
  let result: SwarmRollbackOutcome['result'] = 'failed';
  let failure: Error | undefined;
  let hostStatus: string | undefined;
  try {
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: `rollback:${describeTo(request.to)}`, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
        ...(request.signal !== undefined ? { signal: request.signal } : {}),
        logger,
      }),
    );
    const held = lock;
    const { state, since, journal } = await clock.run('inspect', async () => {
      const hostState = await readHostState(connection, layout);
      const swarm = await requireManager(connection, layout, stack);
      return { state: hostState, since: swarm.now, journal: await readJournal(connection, layout) };
    });
    before = state.current;
    after = before;
    const { manifest } = await clock.run('choose', async () => {
      const choice = rollbackCandidates(state, journal, request.to);
      for (const warning of choice.warnings) logger.warning(warning);
      for (const candidate of choice.candidates) {
        try {
          const verified: ReleaseManifest = await verifiedHostRelease(connection, layout, candidate);
          logger.info(`Returning stack ${stack} from ${before ?? 'no release'} to release ${candidate} (verified again on the host).`);
          return { manifest: verified };
        } catch (error: unknown) {
          if (!(error instanceof HostVerificationError)) throw error;
          logger.warning(`Release ${candidate} is skipped: ${error.message}`);
          refused.push({ release: candidate, reason: error.reason });
        }
      }
      throw new Error(`No release to return to verifies on the host: ${refused.map((r) => `${r.release} (${r.reason})`).join('; ')}. Nothing was changed.`);
    });
    target = manifest.releaseId;
    const release = stackRelease(layout, stack, manifest, mode);
    await clock.run('deploy', async () => {
      held.assertHeld();
      deployed = true;
      await deployStack(connection, release, logger);
    });
    services = await clock.run('converge', () =>
      watchConvergence(connection, release, {
        since,
        timeoutSeconds: request.healthTimeoutSeconds,
        logger,
        ...(request.pollMs !== undefined ? { pollMs: request.pollMs } : {}),
        ...(request.signal !== undefined ? { signal: request.signal } : {}),
      }),
    );
    await clock.run('switch', async () => {
      held.assertHeld();
      await switchCurrent(connection, layout, manifest.releaseId);
      after = manifest.releaseId;
      await confirmRelease(connection, layout, manifest.releaseId, { release: manifest.releaseId, at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, action: 'rollback', target: 'swarm', mode }, mode);
      if (before !== undefined && before !== manifest.releaseId) await markReleaseBad(connection, layout, before, `rolled back on the swarm: ${firstLine(request.reason)}`);
    });
    result = 'rolled-back';
    logger.info(`Stack ${stack} runs release ${manifest.releaseId} (${mode}), converged and healthy; current -> releases/${manifest.releaseId}.`);
  } catch (error: unknown) {
    failure = error instanceof Error ? error : new Error(String(error));
    logger.error(failure.message);
    hostStatus = deployed
      ? `Stack ${stack} was asked for release ${target ?? '?'} but did not converge on it; current still points at ${before ?? 'nothing'}: an operator must look (docker stack ps ${stack}).`
      : 'Nothing was changed: the stack was not touched.';
  } finally {
    if (lock !== undefined && deployed && lock.held && !connection.closed) {
      await appendJournal(connection, layout, {
        time: new Date().toISOString(),
        action: 'rollback',
        target: 'swarm',
        rollbackMode: 'rollback',
        result,
        release: after ?? null,
        previous: before ?? null,
        mode,
        to: target ?? null,
        actor: request.actor,
        runUrl: request.runUrl,
        reason: request.reason,
        halt: { subject: '', nonce: '', acknowledged: false },
        refused,
        stopped: [],
        phases: clock.durations(),
        ...(failure !== undefined ? { error: firstLine(failure.message) } : {}),
      }).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${describeError(e)}`));
    }
    await lock?.release();
  }
  return { result, stack, releaseBefore: before, releaseAfter: after, refused, services, mode, phases: clock.records, hostStatus, error: failure, durationMs: clock.elapsedMs() };
}
