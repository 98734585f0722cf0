/**
 * After a migration is applied, its history row is read back: `_titan_migrations` must hold the
 * file with the sha256 and release it was applied as. The content rule keeps a migration from
 * committing or ending psql early; a migration that still keeps its row out (a rule or trigger on
 * the history table, say) is caught here, and the deploy stops saying that the database may hold
 * changes that are not recorded, instead of reporting success and applying them again next time.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { type ComposeTarget, composeArgv } from './compose-command.js';
import { lastRecord } from './host-record.js';
import { runHostScript } from './host-script.js';
import type { MigrationFile } from './migration-plan.js';
import { type DatabaseTarget, MIGRATIONS_TABLE } from './migrations.js';

export class MigrationNotRecordedError extends Error {
  override readonly name = 'MigrationNotRecordedError';

  readonly file: string;
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}

export async function requireMigrationRecorded(
  connection: SshConnection,
  target: ComposeTarget,
  request: { migration: MigrationFile; releaseId: string; database: DatabaseTarget },
): Promise<void> {
  const { migration, releaseId } = request;
  const database = request.database;
  const { stdout } = await runHostScript(
    connection,
    null,
    'titan-check-migration-record',
    [migration.file, database.service, database.user, database.database, MIGRATIONS_TABLE, ...composeArgv(target, [])],
    { timeoutMs: 120_000 },
  );
  const found = (lastRecord(stdout, 'recorded') ?? []).join(' ');
  if (found === `${migration.sha256} ${releaseId}`) return;
  throw new MigrationNotRecordedError(
    migration.file,
    `Migration ${migration.file} ran, but its history row is ${found === '' ? 'missing from' : `not the one written to (found ${JSON.stringify(found.slice(0, 100))})`} ${MIGRATIONS_TABLE}: ` +
      'what it changed may be in the database without a record, and a later deploy would apply it again. ' +
      `Inspect the database by hand (the history table, and any rule or trigger on it) and record or undo ${migration.file} before deploying again.`,
  );
}
