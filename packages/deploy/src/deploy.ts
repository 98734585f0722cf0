/**
 * deployRelease: one signed release onto one host, over one SSH connection, fail closed.
 *
 *  lock       take the host's deploy lock (held while this run heartbeats: deploy-lock.ts)
 *  inspect    read the host: current release, trusted keys, production values, guards, halt mark
 *  recover    a guard left by a deploy that is gone runs its return plan first
 *  admit      a reused release id only with a byte-identical manifest; no downgrade (older, or marked
 *             bad) unless allow-downgrade (release-admission.ts)
 *  install    upload the bundle, verify it ON THE HOST, rename it to releases/<id>
 *  plan       what changes: images, definitions, mounted files, mode (change-plan.ts)
 *  pull       every image by digest, before anything stops
 *  migrations-check  the database's migration history against the release (drift refused), and the
 *             host's copy of each pending migration against the migration content rule
 *  guard      start the commit-confirmed guard on the host: from here until confirm the host
 *             returns by itself if this run is gone (killed, cancelled, frozen, cut off)
 *  stop       the Titan services that change, in order
 *  migrate    each pending migration in one transaction, its history row read back
 *  switch     flip current atomically (not for a redeploy of the running release)
 *  start      state/mode, then docker compose up -d --remove-orphans from current (TITAN_MODE set explicitly)
 *  verify     verifyStack within health-timeout
 *  confirm    the guard stands down
 *  retention  keep keep-releases releases
 * A failure after the guard runs the guard's own plan (guard.ts): before the switch the stopped
 * services start again as they were, after it the previous release comes back and is verified and
 * the new one is marked bad (result rolled-back). A cancellation (request.signal) stops at the next
 * safe point: the host ends the work in flight, the run writes its journal line `cancelled`, starts
 * again what it stopped before the switch, and after the switch leaves the return to the guard,
 * which acts as soon as the lock is released. An operator's halt (state/halted) refuses the deploy
 * unless it lifts it, and one that arrives while it runs stops it before it starts or arms anything.
 * A run that lost its lock (the host ended its session) changes nothing more. One journal line per
 * deploy that changed the host (or was cancelled while holding the lock).
 */
import type { Logger } from '@titan/log/logger';
import { stackProfileOf } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { type TitanMode, currentTarget, releaseTarget } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { type GuardPlan, confirmRelease, runGuardPlan, startGuard, stopGuard } from '@titan/host/guard';
import { describeHalt, HostHaltedError, liftHaltMark } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import { readHostState } from '@titan/host/host-state';
import { findMissingImages, imageReferences, pullImages } from '@titan/host/image-pull';
import { type DeployResult, type JournalEntry, appendJournal } from '@titan/host/journal';
import { describeDrift, planMigrations, releaseMigrations } from '@titan/host/migration-plan';
import { checkMigrationContent } from '@titan/host/migration-content-check';
import { requireMigrationRecorded } from '@titan/host/migration-record';
import { applyMigration, DatabaseNotRunningError, databaseTarget, readAppliedMigrations } from '@titan/host/migrations';
import { type StackProfile, tradingServices } from '@titan/release/stack-profile';
import { installRelease } from '@titan/host/release-install';
import { removeReleases } from '@titan/host/retention';
import { restartServices, stopServices, upServices, upStack } from '@titan/host/stack-control';
import { recordStackMode } from '@titan/host/stack-mode';
import { readStackNow, writeStackRecord } from '@titan/host/stack-record';
import { switchCurrent } from '@titan/host/switch-current';
import { verifyStack, type VerifyReport } from '@titan/verify/verify-stack';
import { CancelledError, cancellationCause, throwIfCancelled } from '@titan/phases/cancellation';
import { type ChangePlan, type ReleaseView, planChanges } from './change-plan.js';
import { MigrationDriftError } from './deploy-errors.js';
import { inspectHost, recordedMode } from './host-inspection.js';
import { readReleaseView } from './release-view.js';
import { composeWork } from './compose-work.js';
import { stopsBeforeSwitch } from './stop-before-switch.js';
import { retentionAfterDeploy } from './retention-after-deploy.js';
import { admitRelease } from './release-admission.js';
import { checkNoNewHalt } from './deploy-halt.js';
import { requireHealthyStack, StackUnhealthyError } from '@titan/verify/healthy-stack';
import type { LocalBundle } from './local-bundle.js';
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';

export interface DeployRequest {
  readonly bundle: LocalBundle;
  readonly layout: HostLayout;
  readonly project: string;
  readonly mode: TitanMode;
  readonly healthTimeoutSeconds: number;
  readonly confirmTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  /** Seconds without a heartbeat after which the host ends this deploy and frees its lock (default 60). */
  readonly heartbeatTimeoutSeconds?: number;
  readonly keepReleases: number;
  /** Deploy onto a host an operator halted, lifting the halt (otherwise such a host is refused). */
  readonly liftHalt?: boolean;
  /** Deploy a release older than the running one, or one marked bad (otherwise refused: release-admission.ts). */
  readonly allowDowngrade?: boolean;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM): the deploy stops at its next safe point. */
  readonly signal?: AbortSignal;
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
  /** A release left unconfirmed by an earlier deploy whose return plan this one ran first. */
  readonly recovered: string | undefined;
  /** What the host is left in, in a sentence, when the run did not deploy (cancelled, failed, lost its lock). */
  readonly hostStatus: string | undefined;
  /** The phase in which the run was cancelled or failed. */
  readonly stoppedIn: string | undefined;
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** Revert is always to DISARMED: an automatic return never arms a stack (re-arm with an explicit deploy). */
const REVERT_MODE: TitanMode = 'DISARMED';

export async function deployRelease(connection: SshConnection, request: DeployRequest): Promise<DeployOutcome> {
  const { layout, project, logger, bundle, signal } = request;
  const manifest = bundle.manifest;
  const releaseId = manifest.releaseId;
  /** The new release's stack profile (readLocalBundle refused a bundle without one). */
  const profile = stackProfileOf(manifest);
  const database = databaseTarget(profile);
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
  let hostStatus: string | undefined;
  let stoppedIn: string | undefined;
  /** The guard phase began: from here on the host has a return plan for this release. */
  let guarded = false;
  /** The running stack was touched past the point of a plain restore: switched, or (same release) started again. */
  let stackTouched = false;
  let sameRelease = false;
  let confirmed = false;
  let journalWritten = false;
  /** Set once the run handles its end: a cancellation arriving then no longer aborts host work. */
  let ending = false;
  /** The halt mark this deploy lifts (lift-halt), by its nonce. */
  let lifting: string | undefined;

  const nextView: ReleaseView = { manifest, compose: bundle.compose };
  const journalFields = { actor: request.actor, runUrl: request.runUrl, action: 'deploy' };
  const cancel = (): void => {
    stoppedIn ??= clock.latest;
    logger.warning(`Cancellation (${cancellationCause(signal)}) received during ${clock.latest ?? 'the start'}: stopping at the next safe point.`);
    if (!ending) void lock?.abortWork();
  };
  signal?.addEventListener('abort', cancel, { once: true });
  /** A safe point: cancelled runs stop here. */
  const checkpoint = (): void => throwIfCancelled(signal, stoppedIn ?? clock.latest);

  try {
    checkpoint();
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: releaseId, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
        ...(signal !== undefined ? { signal } : {}),
        logger,
      }),
    );
    const heldLock = lock;
    checkpoint();

    const inspected = await clock.run('inspect', () => inspectHost(connection, layout, { liftHalt: request.liftHalt === true, logger }));
    let state = inspected.state;
    lifting = inspected.lifting;

    const markedBad = state.releases.find((r) => r.id === releaseId)?.bad === true;
    if (state.guards.length > 0) {
      // A guard whose deploy is gone (this run holds the lock): its return plan runs now, as the guard would.
      await clock.run('recover', async () => {
        for (const guard of state.guards) {
          heldLock.assertHeld();
          const outcome = await runGuardPlan(connection, layout, guard.release, { by: 'recovery', reason: 'the deploy that started its guard ended without confirming it' }, logger);
          await stopGuard(connection, layout, guard.release);
          if (outcome !== 'nothing') {
            hostChanged = true;
            recovered = guard.release;
            logger.warning(`Release ${guard.release} was left unconfirmed by a deploy that is gone: its return plan ran first (${outcome}).`);
          } else {
            logger.info(`A guard of release ${guard.release} was left by a deploy that is gone; it had nothing to return.`);
          }
        }
        state = await readHostState(connection, layout);
      });
    }

    previous = state.current;
    sameRelease = previous === releaseId;
    const previousMode = recordedMode(state);
    const migrationFiles = releaseMigrations(manifest);

    // Reads that change nothing run alongside the install on a host that already runs a release: the
    // database's migration history and the running release's manifest and compose files.
    const historyRead =
      previous !== undefined && migrationFiles.length > 0
        ? clock.background('migrations-read', () => readAppliedMigrations(connection, project, { database, waitSeconds: request.healthTimeoutSeconds }))
        : undefined;
    const references = imageReferences(manifest.images);
    const imagesCheck = clock.background('images-check', () => findMissingImages(connection, references));
    const runningRelease = previous;
    const previousRead =
      runningRelease !== undefined && !sameRelease ? clock.background('previous-read', () => readReleaseView(connection, layout, runningRelease, manifest.compose)) : undefined;
    const stackRead = runningRelease !== undefined ? clock.background('stack-read', () => readStackNow(connection, layout, project)) : undefined;
    const liftsHalt = lifting !== undefined;

    checkpoint();
    await clock.run('admit', () =>
      admitRelease(connection, {
        layout,
        state,
        bundle,
        allowDowngrade: request.allowDowngrade === true,
        markedBad,
        running: previousRead === undefined ? undefined : async () => settled(await previousRead).manifest,
        logger,
      }),
    );

    checkpoint();
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

    checkpoint();
    plan = await clock.run('plan', async () => {
      if (previous !== undefined) previousView = sameRelease ? nextView : settled(await previousRead);
      const planned = planChanges(sameRelease ? nextView : previousView, nextView, { previous: previousMode, next: request.mode });
      logPlan(planned, previous, logger);
      return planned;
    });
    const changePlan = plan;

    checkpoint();
    await clock.run('pull', async () => {
      heldLock.assertHeld();
      const missing = settled(await imagesCheck);
      logger.info(`Images by digest: ${references.length - missing.length} of ${references.length} already on the host${missing.length > 0 ? `; pulling ${missing.length}` : ''}.`);
      await pullImages(connection, missing, logger);
    });

    checkpoint();
    const migrationPlan =
      migrationFiles.length === 0
        ? undefined
        : await clock.run('migrations-check', async () => {
            let applied;
            if (historyRead === undefined) {
              // A fresh host: the database of the new (verified) release starts first.
              hostChanged = true;
              await upServices(connection, releaseTarget(layout, project, releaseId, manifest.compose, request.mode), [database.service], logger);
              applied = await readAppliedMigrations(connection, project, { database, waitSeconds: request.healthTimeoutSeconds });
            } else {
              try {
                applied = settled(await historyRead);
              } catch (error: unknown) {
                if (!(error instanceof DatabaseNotRunningError) || previousView === undefined) throw error;
                // The running release's stack is stopped or down (`docker compose stop`, taken down, the
                // host restarted without it): its own database starts again first. Infrastructure of the
                // running release, not a change; the start phase brings up the rest.
                logger.warning(`${error.message} Starting ${database.service} of the running release ${previous ?? ''} to read the migration history.`);
                hostChanged = true;
                await upServices(connection, currentTarget(layout, project, previousView.manifest.compose, previousMode ?? REVERT_MODE), [database.service], logger);
                applied = await readAppliedMigrations(connection, project, { database, waitSeconds: request.healthTimeoutSeconds });
              }
            }
            const planned = planMigrations(applied, migrationFiles);
            if (planned.drift.length > 0) {
              throw new MigrationDriftError(
                `Migration drift: ${describeDrift(planned.drift)}. Nothing was stopped. An applied migration must never change: ` +
                  'restore the file as it was applied and put the change in a new, higher-numbered migration.',
              );
            }
            await checkMigrationContent(connection, layout, releaseId, planned.pending);
            logger.info(`${planned.alreadyApplied} migration(s) already applied; ${planned.pending.length} to apply: ${planned.pending.map((m) => m.file).join(', ') || 'none'}.`);
            return planned;
          });
    if (migrationFiles.length === 0) clock.skip('migrations-check');
    migrations = { alreadyApplied: migrationPlan?.alreadyApplied ?? 0, applied: [], pending: migrationPlan?.pending.map((m) => m.file) ?? [] };

    // From the guard on, the host can return by itself: nothing of the running stack changes before it.
    checkpoint();
    await checkNoNewHalt(connection, layout, lifting, 'before anything of the running stack changed: nothing was stopped or started');
    await clock.run('guard', async () => {
      heldLock.assertHeld();
      hostChanged = true;
      guarded = true;
      await startGuard(
        connection,
        layout,
        { confirmTimeoutSeconds: request.confirmTimeoutSeconds, plan: guardPlanFor(project, releaseId, previousView, changePlan, profile, journalFields) },
        logger,
      );
    });

    const runningTarget =
      previousView === undefined ? undefined : currentTarget(layout, project, previousView.manifest.compose, previousMode ?? REVERT_MODE);
    const pending = migrationPlan?.pending ?? [];
    const stops = stopsBeforeSwitch(changePlan, pending.length);
    if (stops.recreatedAtStart.length > 0) logger.info(`No migration is pending: ${stops.recreatedAtStart.join(', ')} keep running until Compose recreates them at the start.`);
    checkpoint();
    if (runningTarget !== undefined && stops.groups.length > 0) {
      await clock.run('stop', async () => {
        heldLock.assertHeld();
        return stopServices(connection, runningTarget, stops.groups, logger);
      });
    } else {
      clock.skip('stop');
    }

    checkpoint();
    if (pending.length > 0) {
      await clock.run('migrate', async () => {
        heldLock.assertHeld();
        const target = runningTarget ?? releaseTarget(layout, project, releaseId, manifest.compose, request.mode);
        const applied: string[] = [];
        try {
          for (const migration of pending) {
            checkpoint();
            await applyMigration(
              connection,
              target,
              { releaseDir: layout.releaseDir(releaseId), releaseId, migration, database, work: { token: heldLock.token, stateDir: layout.stateDir } },
              logger,
            );
            await requireMigrationRecorded(connection, target, { migration, releaseId, database });
            applied.push(migration.file);
          }
        } finally {
          migrations = { ...migrations, applied };
        }
      });
    } else {
      clock.skip('migrate');
    }

    checkpoint();
    if (!sameRelease) {
      await clock.run('switch', async () => {
        heldLock.assertHeld();
        stackTouched = true;
        await switchCurrent(connection, layout, releaseId);
        logger.info(`current -> releases/${releaseId}`);
      });
    } else {
      logger.info(`Release ${releaseId} is already current: no switch; its stack is converged and verified again.`);
      clock.skip('switch');
    }

    checkpoint();
    await checkNoNewHalt(connection, layout, lifting, 'before the stack was started');
    if (lifting !== undefined) {
      const newer = await liftHaltMark(connection, layout, lifting);
      if (newer !== undefined) {
        throw new HostHaltedError(`The host was halted again ${describeHalt(newer)} while this deploy ran: it stops before starting anything.`, newer);
      }
      logger.warning('The operator\'s halt is lifted (lift-halt: true): the stack starts.');
      lifting = undefined;
    }
    const nextTarget = currentTarget(layout, project, manifest.compose, request.mode);
    const stackNow = stackRead === undefined ? undefined : await stackRead;
    const compose = composeWork(changePlan, stackNow?.ok === true ? stackNow.value : undefined, { release: previous, mode: request.mode, lifting: liftsHalt });
    await clock.run('start', async () => {
      heldLock.assertHeld();
      stackTouched = true;
      await recordStackMode(connection, layout, request.mode);
      if (!compose.up) {
        logger.info(`Compose has nothing to do (${compose.why}): docker compose up is not run.`);
        return;
      }
      logger.info(`Compose has work: ${compose.why}.`);
      await upStack(connection, nextTarget, logger);
      await restartServices(connection, nextTarget, changePlan.restartAfterSwitch, logger);
    });

    checkpoint();
    verification = await clock.run('verify', async () => {
      return requireHealthyStack(connection, {
        appDir: layout.appDir,
        project,
        manifest,
        timeoutMs: request.healthTimeoutSeconds * 1000,
        logger,
        ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
    });

    checkpoint();
    await checkNoNewHalt(connection, layout, undefined, 'after the stack was started: it is not confirmed');
    await clock.run('confirm', async () => {
      heldLock.assertHeld();
      // Beside the confirmation, what runs now: for the next deploy to know when Compose has nothing
      // to do (a failure only costs that; a release not confirmed returns, which the record shows).
      const recorded = writeStackRecord(connection, layout, project, releaseId, request.mode).catch((e: unknown) =>
        logger.warning(`The record of the stack's start could not be written: ${describe(e)}`),
      );
      await confirmRelease(connection, layout, releaseId, { release: releaseId, at: new Date().toISOString(), ...journalFields, mode: request.mode }, request.mode);
      logger.info(`Release ${releaseId} confirmed; the guard stood down.`);
      await recorded;
    });
    confirmed = true;
    result = 'deployed';

    // Past the confirmation nothing rolls back: a retention problem is a warning.
    removedReleases = await clock.run('retention', async () => {
      try {
        const decision = retentionAfterDeploy(state, releaseId, request.keepReleases, clock.elapsedMs() / 1000);
        const removed = await removeReleases(connection, layout, decision.remove, state.partials.map((p) => p.name));
        logger.info(`Kept ${decision.kept.length} release(s)${removed.length > 0 ? `; removed ${removed.join(', ')}` : ''}.`);
        return removed;
      } catch (error: unknown) {
        logger.warning(`Old releases could not be removed (the deploy stands): ${describe(error)}`);
        return [];
      }
    });
  } catch (error: unknown) {
    ending = true;
    failure = error instanceof Error ? error : new Error(String(error));
    stoppedIn ??= clock.latest;
    if (failure instanceof StackUnhealthyError) verification = failure.report;
    if (confirmed) {
      logger.error(failure.message);
      result = 'deployed';
      logger.warning(`Release ${releaseId} was deployed and confirmed; what failed afterwards does not undo it.`);
      failure = undefined;
    } else if (await lockLost()) {
      failure = lock?.lostError() ?? failure;
      logger.error(failure.message);
      hostStatus = 'unknown to this run: the host ended its session; its guard (if one was started) returns the host to a good release by itself';
    } else if (signal?.aborted === true) {
      failure = failure instanceof CancelledError ? failure : new CancelledError(`The run was cancelled (${cancellationCause(signal)}) during ${stoppedIn ?? 'the deploy'}.`, stoppedIn);
      logger.error(failure.message);
      result = 'cancelled';
      await endCancelled();
    } else {
      logger.error(failure.message);
      if (guarded) await returnAfterFailure();
      else hostStatus = hostChanged ? `unchanged in what runs: release ${previous ?? '(none)'} still runs as it did` : 'unchanged: the deploy was refused before it changed anything';
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
    if (!journalWritten) await writeJournal();
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
    hostStatus,
    stoppedIn: result === 'deployed' ? undefined : stoppedIn,
    error: failure,
    startedAt: startedAt.toISOString(),
    durationMs: clock.elapsedMs(),
  };

  /** True when the host ended this run's lock (or its connection): nothing more may be changed. */
  async function lockLost(): Promise<boolean> {
    if (lock === undefined) return false;
    // The lock channel's end may still be on its way when a command of the same session failed first.
    for (let i = 0; i < 5 && lock.held && !connection.closed; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    return !lock.held || connection.closed;
  }

  async function writeJournal(): Promise<void> {
    journalWritten = true;
    // A cancelled run leaves its line even when it was still waiting for the lock (one O_APPEND write).
    if (connection.closed || (lock !== undefined && !lock.held)) return;
    if (result !== 'cancelled' && (lock === undefined || !hostChanged)) return;
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
      ...(result !== 'deployed' && stoppedIn !== undefined ? { phase: stoppedIn } : {}),
      ...(failure !== undefined ? { reason: firstLine(failure.message) } : {}),
    };
    await appendJournal(connection, layout, entry).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${describe(e)}`));
  }

  /**
   * A cancelled run: the host already ended the work in flight (abortWork). The journal line goes
   * first (a kill may follow within seconds). Before the switch the plan runs now (what was stopped
   * starts again); after it the guard returns the host as soon as the lock is released.
   */
  async function endCancelled(): Promise<void> {
    await lock?.abortWork();
    if (!guarded) {
      hostStatus = hostChanged
        ? `release ${previous ?? '(none)'} runs as it did: the deploy was cancelled before it changed the running stack`
        : 'unchanged: the deploy was cancelled before it changed anything';
      await writeJournal();
      return;
    }
    try {
      const now = await readHostState(connection, layout);
      if (now.releases.find((r) => r.id === releaseId)?.confirmed === true && now.current === releaseId) {
        result = 'deployed';
        confirmed = true;
        failure = undefined;
        hostStatus = undefined;
        logger.warning(`Release ${releaseId} was confirmed on the host before the cancellation took effect: it stands.`);
        await writeJournal();
        return;
      }
      stackTouched ||= now.current === releaseId && !sameRelease;
      await writeJournal();
      if (stackTouched) {
        hostStatus =
          `the switch to ${releaseId} had happened: the host's guard returns to ${previous ?? 'no release'} (DISARMED) by itself ` +
          'as this run releases the deploy lock (journal: reverted-by-guard)';
        logger.warning(`Cancelled after the switch: ${hostStatus}.`);
        return;
      }
      const outcome = await runGuardPlan(connection, layout, releaseId, { by: '', reason: 'cancelled' }, logger);
      await stopGuard(connection, layout, releaseId);
      hostStatus =
        outcome === 'restored'
          ? `release ${previous ?? ''} runs as before: what this deploy had stopped was started again`
          : `release ${previous ?? '(none)'} runs as before: this deploy had not changed the running stack`;
      logger.info(`Cancelled before the switch: ${hostStatus}.`);
    } catch (error: unknown) {
      await writeJournal();
      hostStatus = `being returned by the host's guard: ${describe(error)}`;
      logger.error(`Returning after the cancellation failed: ${describe(error)}. The guard on the host returns to release ${previous ?? 'none'} by itself once this run releases the lock.`);
    }
  }

  /** A failure once the guard existed: the guard's own plan runs now, from whatever state the host is in. */
  async function returnAfterFailure(): Promise<void> {
    const reason = firstLine(failure?.message ?? 'failed');
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
          hostStatus = `release ${releaseId} is current${confirmedThere ? ' and confirmed on the host' : ''}: it was not returned (the host's guard had nothing to return)`;
          logger.error(`The deploy failed after the switch, but ${hostStatus}.`);
          return;
        }
      }
      if (outcome === 'restored' || outcome === 'nothing') {
        hostStatus = `release ${previous ?? '(none)'} runs as before${outcome === 'restored' ? ': what this deploy had stopped was started again' : ''}; current is unchanged`;
        logger.error(`The deploy failed before the switch: ${hostStatus}.`);
        return;
      }
      if (previousView === undefined) {
        hostStatus = 'no release runs: this was the first release on this host; its stack was stopped and current removed';
        logger.error(`Release ${releaseId} was the first on this host: its stack was stopped and current removed. Nothing to return to.`);
        return;
      }
      const back = previousView.manifest.releaseId;
      const halt = await readHostState(connection, layout).then((s) => s.halted);
      if (halt !== undefined) {
        hostStatus = `back on release ${back} (DISARMED) without its trading services: the host is halted ${describeHalt(halt)}`;
        logger.error(`Returned to ${back}, but the host is halted: its trading services stay stopped and it was not verified.`);
        return;
      }
      const report = await clock.run('rollback-verify', () =>
        verifyStack(connection, {
          appDir: layout.appDir,
          project,
          manifest: previousView?.manifest ?? manifest,
          // A release signed before stack profiles is judged by the profile of the release being left.
          profile: previousView?.manifest.stack ?? profile,
          timeoutMs: request.healthTimeoutSeconds * 1000,
          logger,
          ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
        }),
      );
      rollbackVerification = report;
      if (!report.healthy) {
        hostStatus = `back on release ${back}, which does not verify either`;
        logger.error(`Rolled back to ${back}, but it does not verify either: ${new StackUnhealthyError(report).message}`);
        return;
      }
      result = 'rolled-back';
      hostStatus = outcome === 'returned' ? `release ${back} runs again DISARMED and verifies` : `back on release ${back}, verified; ${releaseId} is marked bad`;
      logger.info(`Rolled back: release ${back} runs again and verifies${outcome === 'reverted' ? `; ${releaseId} is marked bad` : ''}.`);
    } catch (error: unknown) {
      if (await lockLost()) {
        hostStatus = 'unknown to this run: the host ended its session while it returned; its guard returns the host by itself';
        return;
      }
      hostStatus = `unknown: returning failed (${describe(error)}); the guard on the host returns to ${previous ?? 'no release'} by itself once the lock is released`;
      logger.error(
        `Returning to release ${previous ?? 'none'} failed: ${describe(error)}. The guard on the host still returns by itself once this run releases the lock; check the host.`,
      );
    }
  }
}

/** The value of background work, or its error thrown. */
function settled<T>(result: { ok: true; value: T } | { ok: false; error: unknown } | undefined): T {
  if (result === undefined) throw new Error('background work that was never started');
  if (result.ok) return result.value;
  throw result.error;
}

function guardPlanFor(
  project: string,
  release: string,
  previousView: ReleaseView | undefined,
  plan: ChangePlan,
  profile: StackProfile,
  journalFields: Readonly<Record<string, unknown>>,
): GuardPlan {
  return {
    project,
    release,
    previous: previousView?.manifest.releaseId,
    previousComposeFiles: previousView?.manifest.compose ?? [],
    stopServices: plan.stopBeforeRevert,
    mode: REVERT_MODE,
    heldServices: tradingServices(profile),
    journalFields,
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
