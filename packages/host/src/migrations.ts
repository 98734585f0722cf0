/**
 * Database migrations on the host (scripts/read-migrations.sh, scripts/apply-migration.sh). The
 * history lives in the database itself, in _titan_migrations (file, sha256, release, applied_at).
 * Each migration runs in ONE transaction through
 *   docker compose exec -T <database service> psql -v ON_ERROR_STOP=1 --single-transaction
 * with the file (as the host verified it) on standard input, followed by the INSERT that records
 * it: both commit together or neither does. Values reach psql as -v variables, never as SQL text.
 * The session is named (application_name titan-migration-<lock token>) and recorded on the host
 * while it runs, so that a deploy that dies mid-migration has it terminated before its lock is free.
 */
import type { Logger } from '@titan/log/logger';
import type { StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import { EXIT_NO_DATABASE } from '@titan/ssh/exit-status';
import { type ComposeTarget, composeArgv } from './compose-command.js';
import { workRecord } from './host-layout.js';
import { recordsOf } from './host-record.js';
import { runHostScript } from './host-script.js';
import type { AppliedMigration, MigrationFile } from './migration-plan.js';

export const MIGRATIONS_TABLE = '_titan_migrations';

/**
 * The compose service, role and database migrations run in and as (over the container's local
 * socket): the stack profile's `database` (databaseTarget).
 */
export interface DatabaseTarget {
  readonly service: string;
  readonly user: string;
  readonly database: string;
}

/** The stack profile's database as a migration target. */
export function databaseTarget(profile: StackProfile): DatabaseTarget {
  return { service: profile.database.service, user: profile.database.user, database: profile.database.name };
}

export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';

  readonly file: string;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(`Migration ${file} failed and was rolled back (it ran in one transaction; nothing of it was kept): ${detail}`, options);
    this.file = file;
  }
}

/**
 * The project has no running postgres container (its stack was stopped or taken down, or the host
 * restarted without it): the caller starts postgres of the release `current` points at, then reads
 * again.
 */
export class DatabaseNotRunningError extends Error {
  override readonly name = 'DatabaseNotRunningError';
}

/**
 * Waits for the project's postgres (a container that is starting), returns what was applied.
 * Throws DatabaseNotRunningError at once when the project has no running postgres container.
 */
export async function readAppliedMigrations(
  connection: SshConnection,
  project: string,
  options: { database: DatabaseTarget; waitSeconds: number },
): Promise<AppliedMigration[]> {
  const db = options.database;
  let stdout: string;
  try {
    ({ stdout } = await runHostScript(connection, null, 'titan-read-migrations', [project, db.service, db.user, db.database, MIGRATIONS_TABLE, String(options.waitSeconds)], {
      timeoutMs: (options.waitSeconds + 120) * 1000,
    }));
  } catch (error: unknown) {
    if (error instanceof CommandFailedError && error.exitCode === EXIT_NO_DATABASE) {
      const said = error.stderrTail.trim().split('\n').pop() ?? '';
      const what = said === '' ? `project ${project} has no running ${db.service} container` : said;
      throw new DatabaseNotRunningError(`${what.charAt(0).toUpperCase()}${what.slice(1)} on ${connection.host}.`, { cause: error });
    }
    throw error;
  }
  return recordsOf(stdout, 'applied').flatMap(([file, sha256]) => (file !== undefined && sha256 !== undefined ? [{ file, sha256 }] : []));
}

/**
 * Who a migration's database session belongs to: the deploy's lock session (its token) and the
 * host's state folder, where the work is recorded while it runs. When that deploy ends for any
 * reason before the migration does, the host terminates the session (the transaction rolls back)
 * before the deploy lock is free (scripts/lib/end-work.sh).
 */
export interface MigrationWork {
  readonly token: string;
  readonly stateDir: string;
}

const WORK_TOKEN_PATTERN = /^[0-9a-f]{8,64}$/;

/** Applies one migration (file from the host's verified release folder) and records it, in one transaction. */
export async function applyMigration(
  connection: SshConnection,
  target: ComposeTarget,
  request: { releaseDir: string; releaseId: string; migration: MigrationFile; database: DatabaseTarget; work: MigrationWork },
  logger: Logger,
): Promise<number> {
  const db = request.database;
  const { migration, work } = request;
  if (!WORK_TOKEN_PATTERN.test(work.token)) throw new Error(`Work token ${JSON.stringify(work.token)} is not hex.`);
  const started = performance.now();
  try {
    await runHostScript(
      connection,
      null,
      'titan-apply-migration',
      [
        `${request.releaseDir}/${migration.path}`, migration.file, migration.sha256, request.releaseId, db.service, db.user, db.database, MIGRATIONS_TABLE,
        workRecord(work.stateDir, work.token, 'migration'), `titan-migration-${work.token}`,
        ...composeArgv(target, []),
      ],
      { timeoutMs: 30 * 60_000 },
    );
  } catch (error: unknown) {
    if (error instanceof CommandFailedError) throw new MigrationFailedError(migration.file, error.stderrTail.trim() || error.message, { cause: error });
    throw error;
  }
  const ms = Math.round(performance.now() - started);
  logger.info(`Applied ${migration.file} in ${(ms / 1000).toFixed(2)} s`);
  return ms;
}
