/**
 * After a migration is applied, its history row is read back: `_titan_migrations` must hold the
 * file with the sha256 and release it was applied as. The content rule keeps a migration from
 * committing or ending psql early; a migration that still keeps its row out (a rule or trigger on
 * the history table, say) is caught here, and the deploy stops saying that the database may hold
 * changes that are not recorded, instead of reporting success and applying them again next time.
 */
import type { SshConnection } from '@titan/ssh/connection';
import { type ComposeTarget, composeArgv } from './compose-command.js';
import type { MigrationFile } from './migration-plan.js';
import { type DatabaseTarget, MIGRATIONS_TABLE, TITAN_DATABASE } from './migrations.js';

export const CHECK_MIGRATION_RECORD_SCRIPT_NAME = 'titan-check-migration-record';

// $1 file name, $2 role, $3 database, then the docker compose command. Prints "sha256 release" of
// the file's history row, or nothing.
export const CHECK_MIGRATION_RECORD_SCRIPT = `set -eu
name=$1
role=$2
db=$3
shift 3
printf '%s\\n' "SELECT sha256 || ' ' || release FROM ${MIGRATIONS_TABLE} WHERE file = :'titan_file';" |
  "$@" exec -T postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$role" -d "$db" -v "titan_file=$name"
`;

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
  request: { migration: MigrationFile; releaseId: string; database?: DatabaseTarget },
): Promise<void> {
  const { migration, releaseId } = request;
  const database = request.database ?? TITAN_DATABASE;
  const { stdout } = await connection.runScript(CHECK_MIGRATION_RECORD_SCRIPT, [migration.file, database.user, database.database, ...composeArgv(target, [])], {
    name: CHECK_MIGRATION_RECORD_SCRIPT_NAME,
    timeoutMs: 120_000,
  });
  const found = stdout.trim();
  if (found === `${migration.sha256} ${releaseId}`) return;
  throw new MigrationNotRecordedError(
    migration.file,
    `Migration ${migration.file} ran, but its history row is ${found === '' ? 'missing from' : `not the one written to (found ${JSON.stringify(found.slice(0, 100))})`} ${MIGRATIONS_TABLE}: ` +
      'what it changed may be in the database without a record, and a later deploy would apply it again. ' +
      `Inspect the database by hand (the history table, and any rule or trigger on it) and record or undo ${migration.file} before deploying again.`,
  );
}
