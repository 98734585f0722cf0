/**
 * deployRelease: one signed release onto one host, over one SSH connection, fail closed.
 *
 *  lock       take the host's deploy lock (held as long as this session lives)
 *  inspect    read the host: current release, trusted keys, production values, waiting guards
 *  recover    a release left unconfirmed by a deploy that died is reverted first
 *  install    upload the bundle, verify it ON THE HOST, rename it to releases/<id>
 *  plan       what changes: images, definitions, mounted files, mode (change-plan.ts)
 *  pull       every image by digest, before anything stops
 *  migrations-check  the database's migration history against the release (drift refused)
 *  stop       the Titan services that change, in order
 *  migrate    each pending migration in one transaction (a failure restarts what was stopped)
 *  guard      start the commit-confirmed guard on the host
 *  switch     flip current atomically
 *  start      docker compose up -d --remove-orphans from current (TITAN_MODE set explicitly)
 *  verify     verifyStack within health-timeout
 *  confirm    the guard stands down
 *  retention  keep keep-releases releases
 * A failure after the switch switches back, restarts and verifies the previous release, and marks
 * the new one bad (result rolled-back). One journal line per deploy that changed the host.
 */
import type { Logger } from '@titan/log/logger';
import { DIGEST_OVERRIDE_FILE } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { type TitanMode, currentTarget, releaseTarget } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { type RevertPlan, confirmRelease, revertRelease, startGuard, stopGuard } from '@titan/host/guard';
import type { HostLayout } from '@titan/host/host-layout';
import { type HostState, readHostState } from '@titan/host/host-state';
import { findMissingImages, imageReferences, pullImages } from '@titan/host/image-pull';
import { type DeployResult, type JournalEntry, appendJournal } from '@titan/host/journal';
import { describeDrift, planMigrations, releaseMigrations } from '@titan/host/migration-plan';
import { applyMigration, DatabaseNotRunningError, readAppliedMigrations } from '@titan/host/migrations';
import { readInstalledRelease } from '@titan/host/release-files';
import { installRelease } from '@titan/host/release-install';
import { removeReleases, selectReleasesToRemove } from '@titan/host/retention';
import { restartServices, startServices, stopServices, upServices, upStack } from '@titan/host/stack-control';
import { switchCurrent } from '@titan/host/switch-current';
import { verifyStack, type VerifyReport } from '@titan/verify/verify-stack';
import { type ChangePlan, type ReleaseView, definitionFiles, planChanges } from './change-plan.js';
import { readComposeView } from './compose-services.js';
import { HostNotReadyError, MigrationDriftError } from './deploy-errors.js';
import { requireHealthyStack, StackUnhealthyError } from '@titan/verify/healthy-stack';
import type { LocalBundle } from './local-bundle.js';
import { PhaseClock, type PhaseRecord } from './phase-clock.js';

export interface DeployRequest {
  readonly bundle: LocalBundle;
  readonly layout: HostLayout;
  readonly project: string;
  readonly mode: TitanMode;
  readonly healthTimeoutSeconds: number;
  readonly confirmTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  readonly keepReleases: number;
  /** Who deploys (GITHUB_ACTOR) and the run's URL: into the lock holder file and the journal. */
  readonly actor: string;
  readonly runUrl: string;
  readonly logger: Logger;
  /** Pause between verification polls (default verifyStack's). */
  readonly verifyPollMs?: number;
}

export interface MigrationSummary {
  readonly alreadyApplied: number;
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

export interface DeployOutcome {
  readonly result: DeployResult;
  readonly releaseId: string;
  /** The release `current` pointed at before (after any recovery), if any. */
  readonly previousReleaseId: string | undefined;
  readonly mode: TitanMode;
  /** False when the deploy was refused before it changed anything on the host. */
  readonly hostChanged: boolean;
  /** The release folder was already on the host (verified again in place). */
  readonly reusedRelease: boolean;
  readonly phases: readonly PhaseRecord[];
  readonly plan: ChangePlan | undefined;
  readonly migrations: MigrationSummary;
  readonly verification: VerifyReport | undefined;
  /** The previous release's verification after a rollback. */
  readonly rollbackVerification: VerifyReport | undefined;
  readonly removedReleases: readonly string[];
  /** A release left unconfirmed by an earlier deploy that this one reverted first. */
  readonly recovered: string | undefined;
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** Revert is always to DISARMED: an automatic return never arms a stack (re-arm with an explicit deploy). */
const REVERT_MODE: TitanMode = 'DISARMED';

export async function deployRelease(connection: SshConnection, request: DeployRequest): Promise<DeployOutcome> {
  const { layout, project, logger, bundle } = request;
  const manifest = bundle.manifest;
  const releaseId = manifest.releaseId;
  const startedAt = new Date();
  const clock = new PhaseClock(logger);

  let lock: HeldDeployLock | undefined;
  let previous: string | undefined;
  let hostChanged = false;
  let reusedRelease = false;
  let plan: ChangePlan | undefined;
  let previousView: ReleaseView | undefined;
  let migrations: MigrationSummary = { alreadyApplied: 0, applied: [], pending: [] };
  let verification: VerifyReport | undefined;
  let rollbackVerification: VerifyReport | undefined;
  let removedReleases: string[] = [];
  let recovered: string | undefined;
  let result: DeployResult = 'failed';
  let failure: Error | undefined;
  let switched = false;
  let guardStarted = false;
  let confirmed = false;

  const nextView: ReleaseView = { manifest, compose: bundle.compose };
  const journalFields = { actor: request.actor, runUrl: request.runUrl, action: 'deploy' };

  try {
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: releaseId, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        logger,
      }),
    );
    const heldLock = lock;

    let state = await clock.run('inspect', async () => {
      const found = await readHostState(connection, layout);
      checkHostReady(found, layout, connection.host);
      return found;
    });

    const unconfirmed = state.current === undefined ? undefined : state.guards.find((g) => g.release === state.current);
    const currentRelease = state.releases.find((r) => r.id === state.current);
    if (unconfirmed !== undefined && unconfirmed.release === releaseId && currentRelease !== undefined && !currentRelease.confirmed) {
      logger.warning(
        `Release ${releaseId} is current but was never confirmed (the deploy that switched to it is gone): converging and verifying it now. ` +
          'If it does not verify, its guard returns the host to the previous release.',
      );
    } else if (unconfirmed !== undefined && currentRelease !== undefined && !currentRelease.confirmed) {
      hostChanged = true;
      recovered = unconfirmed.release;
      await clock.run('recover', async () => {
        logger.warning(
          `Release ${unconfirmed.release} is current but was never confirmed: the deploy that switched to it is gone. Returning to ` +
            `${unconfirmed.previous === '' ? 'no release' : unconfirmed.previous} first, as its guard would.`,
        );
        const left = await readView(connection, layout, unconfirmed.release);
        const back = unconfirmed.previous === '' ? undefined : await readView(connection, layout, unconfirmed.previous);
        const recoveryPlan = planChanges(back, left, { previous: REVERT_MODE, next: REVERT_MODE });
        await revertRelease(
          connection,
          layout,
          revertPlanFor(project, unconfirmed.release, back, recoveryPlan, 'its deploy ended before confirming it', {
            result: 'reverted-unconfirmed',
            fields: journalFields,
          }),
          logger,
        );
        await stopGuard(connection, layout, unconfirmed.release);
        state = await readHostState(connection, layout);
      });
    }

    previous = state.current;
    const sameRelease = previous === releaseId;
    const previousMode = parseMode(state.mode);
    const migrationFiles = releaseMigrations(manifest);

    // Reads that change nothing run alongside the install on a host that already runs a release: the
    // database's migration history and the running release's manifest and compose files.
    const historyRead =
      previous !== undefined && migrationFiles.length > 0
        ? clock.background('migrations-read', () => readAppliedMigrations(connection, project, { waitSeconds: request.healthTimeoutSeconds }))
        : undefined;
    const references = imageReferences(manifest.images);
    const imagesCheck = clock.background('images-check', () => findMissingImages(connection, references));
    const runningRelease = previous;
    const previousRead =
      runningRelease !== undefined && !sameRelease ? clock.background('previous-read', () => readView(connection, layout, runningRelease, manifest.compose)) : undefined;

    const installed = await clock.run('install', async () => {
      heldLock.assertHeld();
      return installRelease(connection, {
        layout,
        bundleDir: bundle.dir,
        releaseId,
        exists: state.releases.some((r) => r.id === releaseId),
        logger,
      });
    });
    reusedRelease = installed.reused;
    if (!installed.reused) hostChanged = true;
    if (state.releases.find((r) => r.id === releaseId)?.bad === true) {
      logger.warning(`Release ${releaseId} was marked bad on this host by an earlier deploy; deploying it again as asked.`);
    }

    plan = await clock.run('plan', async () => {
      if (previous !== undefined) previousView = sameRelease ? nextView : settled(await previousRead);
      const planned = planChanges(sameRelease ? nextView : previousView, nextView, { previous: previousMode, next: request.mode });
      logPlan(planned, previous, logger);
      return planned;
    });
    const changePlan = plan;

    await clock.run('pull', async () => {
      heldLock.assertHeld();
      const missing = settled(await imagesCheck);
      logger.info(`Images by digest: ${references.length - missing.length} of ${references.length} already on the host${missing.length > 0 ? `; pulling ${missing.length}` : ''}.`);
      await pullImages(connection, missing, logger);
    });

    const migrationPlan =
      migrationFiles.length === 0
        ? undefined
        : await clock.run('migrations-check', async () => {
            let applied;
            if (historyRead === undefined) {
              // A fresh host: postgres of the new (verified) release starts first.
              hostChanged = true;
              await upServices(connection, releaseTarget(layout, project, releaseId, manifest.compose, request.mode), ['postgres'], logger);
              applied = await readAppliedMigrations(connection, project, { waitSeconds: request.healthTimeoutSeconds });
            } else {
              try {
                applied = settled(await historyRead);
              } catch (error: unknown) {
                if (!(error instanceof DatabaseNotRunningError) || previousView === undefined) throw error;
                // The running release's stack is down (taken down, or the host restarted without it):
                // its own postgres starts again first. Infrastructure of the running release, not a change.
                logger.warning(`${error.message} Starting postgres of the running release ${previous ?? ''} to read the migration history.`);
                hostChanged = true;
                await upServices(connection, currentTarget(layout, project, previousView.manifest.compose, previousMode ?? REVERT_MODE), ['postgres'], logger);
                applied = await readAppliedMigrations(connection, project, { waitSeconds: request.healthTimeoutSeconds });
              }
            }
            const planned = planMigrations(applied, migrationFiles);
            if (planned.drift.length > 0) {
              throw new MigrationDriftError(
                `Migration drift: ${describeDrift(planned.drift)}. Nothing was stopped. An applied migration must never change: ` +
                  'restore the file as it was applied and put the change in a new, higher-numbered migration.',
              );
            }
            logger.info(`${planned.alreadyApplied} migration(s) already applied; ${planned.pending.length} to apply: ${planned.pending.map((m) => m.file).join(', ') || 'none'}.`);
            return planned;
          });
    if (migrationFiles.length === 0) clock.skip('migrations-check');
    migrations = { alreadyApplied: migrationPlan?.alreadyApplied ?? 0, applied: [], pending: migrationPlan?.pending.map((m) => m.file) ?? [] };

    const runningTarget =
      previousView === undefined ? undefined : currentTarget(layout, project, previousView.manifest.compose, previousMode ?? REVERT_MODE);
    let stopped: string[] = [];
    if (runningTarget !== undefined && changePlan.stopBeforeSwitch.length > 0) {
      stopped = await clock.run('stop', async () => {
        heldLock.assertHeld();
        hostChanged = true;
        return stopServices(connection, runningTarget, changePlan.stopBeforeSwitch, logger);
      });
    } else {
      clock.skip('stop');
    }

    const pending = migrationPlan?.pending ?? [];
    if (pending.length > 0) {
      await clock.run('migrate', async () => {
        heldLock.assertHeld();
        hostChanged = true;
        const target = runningTarget ?? releaseTarget(layout, project, releaseId, manifest.compose, request.mode);
        const applied: string[] = [];
        try {
          for (const migration of pending) {
            await applyMigration(connection, target, { releaseDir: layout.releaseDir(releaseId), releaseId, migration }, logger);
            applied.push(migration.file);
          }
        } catch (error: unknown) {
          migrations = { ...migrations, applied };
          if (runningTarget !== undefined && stopped.length > 0) {
            logger.error(`A migration failed: starting what was stopped of release ${previous ?? ''} again; current is unchanged.`);
            await startServices(connection, runningTarget, stopped, logger);
          }
          throw error;
        }
        migrations = { ...migrations, applied };
      });
    } else {
      clock.skip('migrate');
    }

    if (!sameRelease) {
      await clock.run('guard', async () => {
        heldLock.assertHeld();
        hostChanged = true;
        await startGuard(
          connection,
          layout,
          {
            confirmTimeoutSeconds: request.confirmTimeoutSeconds,
            revert: revertPlanFor(project, releaseId, previousView, changePlan, `not confirmed within ${request.confirmTimeoutSeconds} s of the switch`, {
              result: 'reverted-by-guard',
              fields: journalFields,
            }),
          },
          logger,
        );
        guardStarted = true;
      });
      await clock.run('switch', async () => {
        heldLock.assertHeld();
        await switchCurrent(connection, layout, releaseId);
        switched = true;
        logger.info(`current -> releases/${releaseId}`);
      });
    } else {
      logger.info(`Release ${releaseId} is already current: no switch; its stack is converged and verified again.`);
      clock.skip('guard');
      clock.skip('switch');
    }

    const nextTarget = currentTarget(layout, project, manifest.compose, request.mode);
    await clock.run('start', async () => {
      heldLock.assertHeld();
      hostChanged = true;
      await upStack(connection, nextTarget, logger);
      await restartServices(connection, nextTarget, changePlan.restartAfterSwitch, logger);
    });

    verification = await clock.run('verify', async () => {
      return requireHealthyStack(connection, {
        appDir: layout.appDir,
        project,
        manifest,
        timeoutMs: request.healthTimeoutSeconds * 1000,
        logger,
        ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
      });
    });

    await clock.run('confirm', async () => {
      heldLock.assertHeld();
      await confirmRelease(connection, layout, releaseId, { release: releaseId, at: new Date().toISOString(), ...journalFields, mode: request.mode }, request.mode);
      logger.info(`Release ${releaseId} confirmed; the guard stood down.`);
    });
    confirmed = true;
    result = 'deployed';

    // Past the confirmation nothing rolls back: a retention problem is a warning.
    removedReleases = await clock.run('retention', async () => {
      try {
        // The host as it is now, from what was read under this lock: this release is current and
        // most recently run, confirmed; its guard is gone.
        const releases = [
          ...state.releases.filter((r) => r.id !== releaseId),
          { id: releaseId, mtime: state.now + Math.ceil(clock.elapsedMs() / 1000), bad: false, confirmed: true },
        ];
        const guards = state.guards.filter((g) => g.release !== releaseId);
        const decision = selectReleasesToRemove({ releases, current: releaseId, keep: request.keepReleases, guards });
        const removed = await removeReleases(connection, layout, decision.remove, state.partials.map((p) => p.name));
        logger.info(`Kept ${decision.kept.length} release(s)${removed.length > 0 ? `; removed ${removed.join(', ')}` : ''}.`);
        return removed;
      } catch (error: unknown) {
        logger.warning(`Old releases could not be removed (the deploy stands): ${describe(error)}`);
        return [];
      }
    });
  } catch (error: unknown) {
    failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof StackUnhealthyError) verification = failure.report;
    logger.error(failure.message);
    if (confirmed) {
      result = 'deployed';
      logger.warning(`Release ${releaseId} was deployed and confirmed; what failed afterwards does not undo it.`);
      failure = undefined;
    } else if (switched) {
      const rolledBack = await rollBack();
      result = rolledBack ? 'rolled-back' : 'failed';
    } else if (guardStarted) {
      await stopGuard(connection, layout, releaseId).catch((e: unknown) => logger.warning(`Could not stop the guard: ${describe(e)}`));
    }
  } finally {
    if (lock !== undefined && hostChanged) {
      const entry: JournalEntry = {
        time: new Date().toISOString(),
        action: 'deploy',
        result,
        release: releaseId,
        previous: previous ?? null,
        mode: request.mode,
        actor: request.actor,
        runUrl: request.runUrl,
        phases: clock.durations(),
        ...(failure !== undefined ? { reason: firstLine(failure.message) } : {}),
      };
      await appendJournal(connection, layout, entry).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${describe(e)}`));
    }
    await lock?.release();
  }

  return {
    result,
    releaseId,
    previousReleaseId: previous,
    mode: request.mode,
    hostChanged,
    reusedRelease,
    phases: clock.records,
    plan,
    migrations,
    verification,
    rollbackVerification,
    removedReleases,
    recovered,
    error: failure,
    startedAt: startedAt.toISOString(),
    durationMs: clock.elapsedMs(),
  };

  /** After a failure past the switch: back to the previous release, verified. True when that worked. */
  async function rollBack(): Promise<boolean> {
    const changePlan = plan;
    if (changePlan === undefined) return false;
    try {
      return await clock.run('rollback', async () => {
        const reason = firstLine(failure?.message ?? 'failed after the switch');
        await revertRelease(connection, layout, revertPlanFor(project, releaseId, previousView, changePlan, reason), logger);
        await stopGuard(connection, layout, releaseId);
        if (previousView === undefined) {
          logger.error(`Release ${releaseId} was the first on this host: its stack was stopped and current removed. Nothing to return to.`);
          return false;
        }
        const report = await verifyStack(connection, {
          appDir: layout.appDir,
          project,
          manifest: previousView.manifest,
          timeoutMs: request.healthTimeoutSeconds * 1000,
          logger,
          ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
        });
        rollbackVerification = report;
        if (!report.healthy) {
          logger.error(`Rolled back to ${previousView.manifest.releaseId}, but it does not verify either: ${new StackUnhealthyError(report).message}`);
          return false;
        }
        logger.info(`Rolled back: release ${previousView.manifest.releaseId} runs again and verifies; ${releaseId} is marked bad.`);
        return true;
      });
    } catch (error: unknown) {
      logger.error(
        `Rolling back failed: ${describe(error)}. Unless the switch back happened, the guard on the host still returns to the previous release by itself after confirm-timeout; check the host.`,
      );
      return false;
    }
  }
}

function checkHostReady(state: HostState, layout: HostLayout, host: string): void {
  if (state.trustedKeys === 0) {
    throw new HostNotReadyError(
      `The host ${host} has no trusted release key in ${layout.trustDir}, so it cannot verify any release and none is deployed. ` +
        `Provision it: put the release public key PEM in ${layout.trustDir}/ (action-provision does this), then deploy again.`,
    );
  }
  if (!state.envFile.present) {
    throw new HostNotReadyError(
      `The host ${host} has no production values file ${layout.envFile}. Create it on the host from production.env.template ` +
        '(mode 0600, owned by the deploy user); deploys never upload it.',
    );
  }
  if ((state.envFile.mode & 0o077) !== 0) {
    throw new HostNotReadyError(
      `${layout.envFile} on ${host} is readable by others (mode ${state.envFile.mode.toString(8)}). Run chmod 600 on it, then deploy again.`,
    );
  }
  if (state.strayCurrent !== undefined) {
    throw new HostNotReadyError(
      `${layout.current} on ${host} points at ${JSON.stringify(state.strayCurrent)}, not at a release folder (releases/<id>). Fix it by hand before deploying.`,
    );
  }
}

/** The value of background work, or its error thrown. */
function settled<T>(result: { ok: true; value: T } | { ok: false; error: unknown } | undefined): T {
  if (result === undefined) throw new Error('background work that was never started');
  if (result.ok) return result.value;
  throw result.error;
}

function parseMode(value: string | undefined): TitanMode | undefined {
  return value === 'ARMED' || value === 'DISARMED' ? value : undefined;
}

/** A release as installed on the host: its manifest and compose definitions. */
async function readView(connection: SshConnection, layout: HostLayout, releaseId: string, guess: readonly string[] = []): Promise<ReleaseView> {
  const { manifest, files } = await readInstalledRelease(connection, layout, releaseId, {
    guess: guess.filter((f) => f !== DIGEST_OVERRIDE_FILE),
    wanted: (m) => definitionFiles(m),
  });
  const compose = readComposeView(
    definitionFiles(manifest).map((name) => {
      const content = files.get(name);
      if (content === undefined) throw new Error(`${layout.releaseDir(releaseId)}/${name} could not be read.`);
      return { name, text: content.toString('utf8') };
    }),
  );
  return { manifest, compose };
}

function revertPlanFor(
  project: string,
  release: string,
  previousView: ReleaseView | undefined,
  plan: ChangePlan,
  reason: string,
  journal?: RevertPlan['journal'],
): RevertPlan {
  return {
    project,
    release,
    previous: previousView?.manifest.releaseId,
    previousComposeFiles: previousView?.manifest.compose ?? [],
    stopServices: plan.stopBeforeRevert,
    mode: REVERT_MODE,
    reason,
    ...(journal !== undefined ? { journal } : {}),
  };
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

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
