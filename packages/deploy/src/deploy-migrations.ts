/**
 * The database phases of a deploy:
 *  migrations-check  the database's migration history against the release (drift refused), and the
 *                    host's copy of each pending migration against the migration content rule
 *  migrate           each pending migration in one transaction, its history row read back
 */
import { type ComposeTarget, currentTarget, releaseTarget } from '@titan/host/compose-command';
import { checkMigrationContent } from '@titan/host/migration-content-check';
import { describeDrift, type MigrationFile, type MigrationPlan, planMigrations } from '@titan/host/migration-plan';
import { DatabaseNotRunningError, readAppliedMigrations } from '@titan/host/migrations';
import { applyPendingMigrations } from '@titan/host/pending-migrations';
import { upServices } from '@titan/host/stack-control';
import { settled } from '@titan/phases/phase-clock';
import type { HostRead } from './deploy-host-read.js';
import { MigrationDriftError } from './deploy-errors.js';
import { type DeployRun, REVERT_MODE } from './deploy-run.js';

/** migrations-check (skipped for a release without migrations). Returns the pending migrations. */
export async function checkMigrations(run: DeployRun, read: HostRead): Promise<readonly MigrationFile[]> {
  const { connection, layout, logger, request, clock, releaseId, manifest, database, project } = run;
  const { migrationFiles, historyRead } = read;
  run.checkpoint();
  const readHistory = (): ReturnType<typeof readAppliedMigrations> =>
    readAppliedMigrations(connection, project, { database, waitSeconds: request.healthTimeoutSeconds });
  const migrationPlan: MigrationPlan | undefined =
    migrationFiles.length === 0
      ? undefined
      : await clock.run('migrations-check', async () => {
          let applied;
          if (historyRead === undefined) {
            // A fresh host: the database of the new (verified) release starts first.
            run.hostChanged = true;
            await upServices(connection, releaseTarget(layout, project, releaseId, manifest.compose, request.mode), [database.service], logger);
            applied = await readHistory();
          } else {
            try {
              applied = settled(await historyRead);
            } catch (error: unknown) {
              const previousView = run.previousView;
              if (!(error instanceof DatabaseNotRunningError) || previousView === undefined) throw error;
              // The running release's stack is stopped or down (`docker compose stop`, taken down, the
              // host restarted without it): its own database starts again first. Infrastructure of the
              // running release, not a change; the start phase brings up the rest.
              logger.warning(`${error.message} Starting ${database.service} of the running release ${run.previous ?? ''} to read the migration history.`);
              run.hostChanged = true;
              await upServices(connection, currentTarget(layout, project, previousView.manifest.compose, read.previousMode ?? REVERT_MODE), [database.service], logger);
              applied = await readHistory();
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
  run.migrations = { alreadyApplied: migrationPlan?.alreadyApplied ?? 0, applied: [], pending: migrationPlan?.pending.map((m) => m.file) ?? [] };
  return migrationPlan?.pending ?? [];
}

/** migrate (skipped when nothing is pending): against the running stack, else the new release's. */
export async function applyMigrations(run: DeployRun, pending: readonly MigrationFile[], runningTarget: ComposeTarget | undefined): Promise<void> {
  const { connection, layout, logger, request, clock, releaseId, manifest, database, project } = run;
  run.checkpoint();
  if (pending.length === 0) {
    clock.skip('migrate');
    return;
  }
  await clock.run('migrate', async () => {
    const heldLock = run.heldLock;
    heldLock.assertHeld();
    const target = runningTarget ?? releaseTarget(layout, project, releaseId, manifest.compose, request.mode);
    const applied: string[] = [];
    try {
      await applyPendingMigrations(
        connection,
        target,
        { releaseDir: layout.releaseDir(releaseId), releaseId, database, work: { token: heldLock.token, stateDir: layout.stateDir }, beforeEach: () => run.checkpoint(), onApplied: (file) => applied.push(file) },
        pending,
        logger,
      );
    } finally {
      run.migrations = { ...run.migrations, applied };
    }
  });
}
