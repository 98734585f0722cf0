/**
 * The first phases of a deploy: lock (the host's deploy lock, held while the run heartbeats),
 * inspect (current release, trusted keys, production values, guards, halt mark), recover (a guard
 * left by a deploy that is gone runs its return plan first), and the reads that change nothing,
 * started alongside the install on a host that already runs a release: the database's migration
 * history, the images already there, the running release's manifest and compose files, the stack.
 */
import type { TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock } from '@titan/host/deploy-lock';
import { runGuardPlan, stopGuard } from '@titan/host/guard';
import { type HostState, readHostState } from '@titan/host/host-state';
import { findMissingImages, imageReferences } from '@titan/host/image-pull';
import { type AppliedMigration, type MigrationFile, releaseMigrations } from '@titan/host/migration-plan';
import { readAppliedMigrations } from '@titan/host/migrations';
import { readStackNow, type StackNow } from '@titan/host/stack-record';
import type { Settled } from '@titan/phases/phase-clock';
import type { ReleaseView } from './change-plan.js';
import type { DeployRun } from './deploy-run.js';
import { inspectHost, recordedMode } from './host-inspection.js';
import { readReleaseView } from './release-view.js';

export interface HostRead {
  /** The host as found, after any recovery. */
  readonly state: HostState;
  /** The release being deployed is on the host and marked bad. */
  readonly markedBad: boolean;
  readonly previousMode: TitanMode | undefined;
  readonly migrationFiles: readonly MigrationFile[];
  readonly references: readonly string[];
  readonly historyRead: Promise<Settled<AppliedMigration[]>> | undefined;
  readonly imagesCheck: Promise<Settled<string[]>>;
  readonly previousRead: Promise<Settled<ReleaseView>> | undefined;
  readonly stackRead: Promise<Settled<StackNow>> | undefined;
}

/** lock, inspect, recover; then the background reads. Sets the run's lock, lifting, previous and sameRelease. */
export async function readHost(run: DeployRun): Promise<HostRead> {
  const { connection, layout, logger, request, clock, signal } = run;
  run.checkpoint();
  run.lock = await clock.run('lock', () =>
    acquireDeployLock(connection, {
      layout,
      holder: { runUrl: request.runUrl, release: run.releaseId, actor: request.actor },
      timeoutSeconds: request.lockTimeoutSeconds,
      ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
      ...(signal !== undefined ? { signal } : {}),
      logger,
    }),
  );
  const heldLock = run.lock;
  run.checkpoint();

  const inspected = await clock.run('inspect', () => inspectHost(connection, layout, { liftHalt: request.liftHalt === true, logger }));
  let state = inspected.state;
  run.lifting = inspected.lifting;

  const markedBad = state.releases.find((r) => r.id === run.releaseId)?.bad === true;
  if (state.guards.length > 0) {
    // A guard whose deploy is gone (this run holds the lock): its return plan runs now, as the guard would.
    const guards = state.guards;
    state = await clock.run('recover', async () => {
      for (const guard of guards) {
        heldLock.assertHeld();
        const outcome = await runGuardPlan(connection, layout, guard.release, { by: 'recovery', reason: 'the deploy that started its guard ended without confirming it' }, logger);
        await stopGuard(connection, layout, guard.release);
        if (outcome !== 'nothing') {
          run.hostChanged = true;
          run.recovered = guard.release;
          logger.warning(`Release ${guard.release} was left unconfirmed by a deploy that is gone: its return plan ran first (${outcome}).`);
        } else {
          logger.info(`A guard of release ${guard.release} was left by a deploy that is gone; it had nothing to return.`);
        }
      }
      return readHostState(connection, layout);
    });
  }

  const previous = state.current;
  run.previous = previous;
  run.sameRelease = previous === run.releaseId;
  const migrationFiles = releaseMigrations(run.manifest);
  const references = imageReferences(run.manifest.images);
  return {
    state,
    markedBad,
    previousMode: recordedMode(state),
    migrationFiles,
    references,
    historyRead:
      previous !== undefined && migrationFiles.length > 0
        ? clock.background('migrations-read', () =>
            readAppliedMigrations(connection, run.project, { database: run.database, waitSeconds: request.healthTimeoutSeconds }),
          )
        : undefined,
    imagesCheck: clock.background('images-check', () => findMissingImages(connection, references)),
    previousRead:
      previous !== undefined && !run.sameRelease
        ? clock.background('previous-read', () => readReleaseView(connection, layout, previous, run.manifest.compose))
        : undefined,
    stackRead: previous !== undefined ? clock.background('stack-read', () => readStackNow(connection, layout, run.project)) : undefined,
  };
}
