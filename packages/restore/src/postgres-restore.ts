/**
 * A Postgres backup restored on the host, into a NEW database beside the stack's own (a scratch
 * database: the stack's own database is never written here): created by the admin role, owned by
 * the stack's role, filled by pg_restore reading the dump from the SSH connection's stdin as it comes
 * down from Spaces and is decrypted. Only once the object's sha256 checked and every table's row
 * count (and the chosen checksums) matched what the backup recorded is the database kept; otherwise
 * it is dropped again. Names are checked before they are sent; the script takes them as arguments.
 */
import { Readable } from 'node:stream';
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import type { ServiceContainer } from '@titan/backup/stack-container';
import { parseTableFacts, TABLE_FACTS_QUERY, TABLE_FACTS_SETTINGS } from '@titan/backup/table-facts';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import { explain, openObject } from './backup-object.js';
import { checksumSpec, compareTables, type TableCheck } from './postgres-proof.js';
import { EXIT_DATA_ERROR } from '@titan/ssh/exit-status';

export const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
export const PG_RESTORE_SCRIPT_NAME = 'titan-pg-restore';

// Runs inside the postgres container. $1 admin role, $2 owner role, $3 the new database. The dump on stdin.
export const PG_RESTORE_SCRIPT = `set -eu
admin=$1
owner=$2
db=$3
exists=$(psql -X -At -v ON_ERROR_STOP=1 -v db="$db" -U "$admin" -d postgres <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)
if [ "$exists" != 0 ]; then
  echo "titan-pg-restore: database $db already exists; a restore never writes into an existing database" >&2
  exit ${EXIT_DATA_ERROR}
fi
createdb --username="$admin" --owner="$owner" "$db"
echo "titan-pg-restore: created database $db" >&2
pg_restore --username="$admin" --dbname="$db" --no-owner --role="$owner" --exit-on-error
`;

export interface HostRestoreResult {
  readonly database: string;
  readonly tables: readonly TableCheck[];
  readonly durationMs: number;
}

export class RestoreFailedError extends Error {
  override readonly name = 'RestoreFailedError';
}

export async function restorePostgresOnHost(
  connection: SshConnection,
  request: {
    readonly store: ObjectStore;
    readonly manifest: BackupManifest;
    readonly object: ManifestObject;
    readonly identity: string | undefined;
    readonly container: ServiceContainer;
    readonly adminUser: string;
    readonly owner: string;
    readonly database: string;
    readonly timeoutMs: number;
    readonly logger: Logger;
  },
): Promise<HostRestoreResult> {
  const { logger, database, container } = request;
  if (!DATABASE_NAME_PATTERN.test(database)) throw new RestoreFailedError(`${JSON.stringify(database)} is not a database name a restore creates (lower-case letters, digits and _).`);
  const facts = request.manifest.postgres;
  if (facts === null) throw new RestoreFailedError('The manifest has no Postgres facts to check the restore against.');
  const started = performance.now();
  const opened = await openObject(request.store, request.object, request.manifest.encryption, request.identity);
  let created = false;
  try {
    try {
      await connection.run(['docker', 'exec', '-i', container.id, 'sh', '-c', PG_RESTORE_SCRIPT, PG_RESTORE_SCRIPT_NAME, request.adminUser, request.owner, database], {
        stdin: opened.plain,
        timeoutMs: request.timeoutMs,
        onStderrLine: (line) => {
          if (line.startsWith('titan-pg-restore: created database')) created = true;
        },
      });
    } catch (error: unknown) {
      throw (await explain(request.store, request.object)) ?? error;
    }
    opened.check();
    const counted = await connection.run(
      ['docker', 'exec', '-i', container.id, 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-v', `tables=${checksumSpec(facts.tables)}`, '-U', request.adminUser, '-d', database],
      { stdin: Readable.from([`${TABLE_FACTS_SETTINGS}${TABLE_FACTS_QUERY}`]), timeoutMs: request.timeoutMs },
    );
    const tables = compareTables(facts.tables, parseTableFacts(counted.stdout.split('\n')));
    const wrong = tables.filter((t) => !t.ok);
    if (wrong.length > 0) {
      throw new RestoreFailedError(`The restored database does not match the backup: ${wrong.map((t) => `${t.name} has ${t.rows ?? 'no'} rows (expected ${t.expectedRows})${t.expectedChecksum !== null && t.checksum !== t.expectedChecksum ? ', checksum differs' : ''}`).join('; ')}.`);
    }
    logger.info(`Restored ${request.object.key} into database ${database} on ${connection.host}: ${tables.length} tables, every row count${tables.some((t) => t.expectedChecksum !== null) ? ' and checksum' : ''} as recorded.`);
    return { database, tables, durationMs: Math.round(performance.now() - started) };
  } catch (error: unknown) {
    if (created) {
      await connection.run(['docker', 'exec', container.id, 'dropdb', '--if-exists', `--username=${request.adminUser}`, database], { timeoutMs: 120_000 }).then(
        () => logger.info(`Dropped the half-restored database ${database} again.`),
        (dropError: unknown) => logger.warning(`The half-restored database ${database} could not be dropped: ${dropError instanceof Error ? dropError.message : String(dropError)}`),
      );
    }
    throw error;
  }
}
