/**
 * A restored database meets the release that runs: its migration history (`_titan_migrations`,
 * restored with it) is compared with the running release's migrations BEFORE the trading stops, while
 * the restored copy is still a database of its own.
 *
 * - The history agrees with the release: nothing to do.
 * - The backup is older than the release (taken before a deploy that migrated): the migrations it
 *   lacks are applied to the restored copy, in order, as a deploy applies them (one transaction
 *   each, recorded under the running release, the session ended by the host if this run dies), so
 *   the release never runs against an older schema. A failing migration stops the restore with the
 *   stack untouched.
 * - The backup's history has a migration the release does not ship, or one with other content (a
 *   backup taken under a newer or a different release): refused, naming them and the release the
 *   backup was taken under, since the code that runs would not match the schema it finds.
 */
import type { BackupManifest } from '@titan/backup/backup-manifest';
import type { ComposeTarget } from '@titan/host/compose-command';
import type { HostLayout } from '@titan/host/host-layout';
import { describeDrift, planMigrations, releaseMigrations } from '@titan/host/migration-plan';
import { type DatabaseTarget, readAppliedMigrations } from '@titan/host/migrations';
import { applyPendingMigrations } from '@titan/host/pending-migrations';
import type { Logger } from '@titan/log/logger';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';

export interface RestoredMigrationsRequest {
  readonly target: ComposeTarget;
  readonly layout: HostLayout;
  readonly project: string;
  /** The running release (its verified manifest) and its id. */
  readonly release: ReleaseManifest;
  readonly releaseId: string;
  /** The stack's database target, pointed at the restored copy. */
  readonly database: DatabaseTarget;
  readonly backup: BackupManifest;
  /** The deploy lock's token: a migration's session ends when the lock's session does. */
  readonly lockToken: string;
  readonly logger: Logger;
}

export class RestoredSchemaMismatchError extends Error {
  override readonly name = 'RestoredSchemaMismatchError';
}

/** Returns the migrations applied to the restored copy (file names, in order). */
export async function bringRestoredSchemaToRelease(connection: SshConnection, request: RestoredMigrationsRequest): Promise<string[]> {
  const { logger, database, releaseId } = request;
  const applied = await readAppliedMigrations(connection, request.project, { database, waitSeconds: 30 });
  const plan = planMigrations(applied, releaseMigrations(request.release));
  const takenUnder = request.backup.release?.id ?? 'an unrecorded release';
  if (plan.drift.length > 0) {
    throw new RestoredSchemaMismatchError(
      `Backup ${request.backup.backupId} (taken under release ${takenUnder}) does not match the migrations of the running release ${releaseId}: ${describeDrift(plan.drift)}. ` +
        `The release would run against a schema it does not know. Deploy the release the backup was taken under (${takenUnder}) or one that ships these migrations, then restore again. Nothing was stopped.`,
    );
  }
  if (plan.pending.length === 0) {
    logger.info(`The restored database's migration history matches release ${releaseId} (${plan.alreadyApplied} migrations).`);
    return [];
  }
  logger.info(
    `Backup ${request.backup.backupId} was taken under release ${takenUnder}, before ${plan.pending.length} of release ${releaseId}'s migrations: ` +
      `${plan.pending.map((m) => m.file).join(', ')}. Applying them to the restored database before it replaces the stack's.`,
  );
  return applyPendingMigrations(
    connection,
    request.target,
    { releaseDir: request.layout.releaseDir(releaseId), releaseId, database, work: { token: request.lockToken, stateDir: request.layout.stateDir } },
    plan.pending,
    logger,
  );
}
