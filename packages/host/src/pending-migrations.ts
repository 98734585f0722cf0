/**
 * The migrations a database lacks, applied the one way a deploy (its migrate phase) and a restore
 * (a backup that predates the running release's migrations) both apply them: in order, each in its
 * own transaction with its history row (applyMigration), that row read back (requireMigrationRecorded)
 * before the next one starts, every session the deploy lock's work (MigrationWork).
 */
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import type { ComposeTarget } from './compose-command.js';
import type { MigrationFile } from './migration-plan.js';
import { requireMigrationRecorded } from './migration-record.js';
import { applyMigration, type DatabaseTarget, type MigrationWork } from './migrations.js';

export interface PendingMigrationsRequest {
  /** The verified release folder on the host the migration files are read from. */
  readonly releaseDir: string;
  /** The release each migration is recorded under. */
  readonly releaseId: string;
  readonly database: DatabaseTarget;
  readonly work: MigrationWork;
  /** Called before each migration: a safe point, where a cancelled run stops (by throwing). */
  readonly beforeEach?: () => void;
  /** Told of each migration once it is applied and recorded. */
  readonly onApplied?: (file: string) => void;
}

/** Applies `pending` in order through `target`'s database service; returns the files applied. */
export async function applyPendingMigrations(
  connection: SshConnection,
  target: ComposeTarget,
  request: PendingMigrationsRequest,
  pending: readonly MigrationFile[],
  logger: Logger,
): Promise<string[]> {
  const { releaseDir, releaseId, database, work } = request;
  const applied: string[] = [];
  for (const migration of pending) {
    request.beforeEach?.();
    await applyMigration(connection, target, { releaseDir, releaseId, migration, database, work }, logger);
    await requireMigrationRecorded(connection, target, { migration, releaseId, database });
    applied.push(migration.file);
    request.onApplied?.(migration.file);
  }
  return applied;
}
