/**
 * A Postgres backup restored on the host, into a NEW database beside the stack's own (a scratch
 * database: the stack's own database is never written here). The dump streams from Spaces through
 * the runner (decrypted, its stored bytes and its plaintext hashed on the fly) and the SSH
 * connection's stdin into `pg_restore --dbname`, in the container, into a STAGING database
 * (`titan_restoring_<hash of the name>`, created by the admin role, owned by the stack's role): the
 * database asked for does not exist until everything checked. Only once the whole object was read,
 * its sha256 (stored and plain) matched the manifest, and every table's row count (the rows the
 * server inserted into it, restored-tables.ts) and the chosen checksums matched what the backup recorded, is the
 * staging database renamed to the one asked for; on any failure it is dropped. A staging database
 * left by an earlier restore of the same name that was cut short is dropped first. Names are checked
 * before they are sent; the scripts take them as arguments.
 */
import { createHash } from 'node:crypto';
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import type { ServiceContainer } from '@titan/backup/stack-container';
import { TABLE_FACTS_SETTINGS } from '@titan/backup/table-facts';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import { explain, openObject } from './backup-object.js';
import { checksumSpec, compareTables, type TableCheck } from './postgres-proof.js';
import { FACTS_MARKER, RESTORE_SESSIONS_ENDED, RESTORED_FACTS_QUERY, RestoreOutput } from './restored-tables.js';
import { EXIT_DATA_ERROR, EXIT_SOFTWARE } from '@titan/ssh/exit-status';

export const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
export const PG_RESTORE_SCRIPT_NAME = 'titan-pg-restore';
export const PG_RENAME_SCRIPT_NAME = 'titan-pg-restored';

/** The staging database a restore into `database` fills first. */
export function stagingDatabase(database: string): string {
  return `titan_restoring_${createHash('sha256').update(database).digest('hex').slice(0, 16)}`;
}

/**
 * Settings of pg_restore's own session (PGOPTIONS, after any the caller set), none of which changes
 * what is restored: each index and constraint is built with up to 512 MB of sort memory (pg_restore
 * without --jobs builds them one after another) instead of the server's default 64 MB, which sorts
 * a large table's keys on disk; and its commits do not wait for the WAL flush (a crash mid-restore
 * leaves a staging database that is dropped, never renamed; the rename commits normally).
 */
export const RESTORE_SESSION_SETTINGS = ['maintenance_work_mem=512MB', 'synchronous_commit=off'] as const;

// Runs inside the postgres container. $1 admin role, $2 owner role, $3 the database asked for,
// $4 its staging database, $5 the tables to checksum ('*', '' or a list). The dump on stdin,
// restored by pg_restore's own session (stopping at the first error); then, once that session has
// ended, the facts of the restored tables after FACTS_MARKER.
export const PG_RESTORE_SCRIPT = `set -eu
admin=$1
owner=$2
db=$3
staging=$4
tables=$5
exists=$(psql -X -At -v ON_ERROR_STOP=1 -v db="$db" -U "$admin" -d postgres <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)
if [ "$exists" != 0 ]; then
  echo "titan-pg-restore: database $db already exists; a restore never writes into an existing database" >&2
  exit ${EXIT_DATA_ERROR}
fi
dropdb --username="$admin" --if-exists "$staging"
createdb --username="$admin" --owner="$owner" "$staging"
echo "titan-pg-restore: created database $staging" >&2
status=0
PGOPTIONS="\${PGOPTIONS:-}${RESTORE_SESSION_SETTINGS.map((setting) => ` -c ${setting}`).join('')}" pg_restore --no-owner --role="$owner" --exit-on-error --username="$admin" --dbname="$staging" || status=$?
if [ "$status" != 0 ]; then
  echo "titan-pg-restore: pg_restore failed (exit $status): the restore stopped at the error above" >&2
  exit ${EXIT_SOFTWARE}
fi
echo "${FACTS_MARKER}"
psql -X -q -At -v ON_ERROR_STOP=1 -v tables="$tables" --username="$admin" --dbname="$staging" <<'SQL'
${TABLE_FACTS_SETTINGS}${RESTORE_SESSIONS_ENDED}${RESTORED_FACTS_QUERY}SQL
`;

// $1 admin role, $2 the staging database, $3 the database asked for. The restore's own sessions
// may take a moment to end after psql did: the rename is tried again for up to 10 s.
export const PG_RENAME_SCRIPT = `set -eu
admin=$1
staging=$2
db=$3
rename_staging() {
  psql -X -q -v ON_ERROR_STOP=1 -v staging="$staging" -v db="$db" -U "$admin" -d postgres 2>&1 <<'SQL'
ALTER DATABASE :"staging" RENAME TO :"db";
SQL
}
tries=0
while ! out=$(rename_staging); do
  tries=$((tries + 1))
  case $out in
    *'is being accessed by other users'*) if [ "$tries" -ge 100 ]; then echo "$out" >&2; exit ${EXIT_SOFTWARE}; fi ;;
    *) echo "$out" >&2; exit ${EXIT_SOFTWARE} ;;
  esac
  sleep 0.1
done
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
  const staging = stagingDatabase(database);
  const output = new RestoreOutput();
  const opened = await openObject(request.store, request.object, request.manifest.encryption, request.identity);
  let created = false;
  try {
    try {
      await connection.run(['docker', 'exec', '-i', container.id, 'sh', '-c', PG_RESTORE_SCRIPT, PG_RESTORE_SCRIPT_NAME, request.adminUser, request.owner, database, staging, checksumSpec(facts.tables)], {
        stdin: opened.plain,
        timeoutMs: request.timeoutMs,
        captureStdout: false,
        onStdoutLine: (line) => output.line(line),
        onStderrLine: (line) => {
          if (line.startsWith('titan-pg-restore: created database')) created = true;
        },
      });
    } catch (error: unknown) {
      throw (await explain(request.store, request.object)) ?? error;
    }
    // Nothing of the restore is visible under its name before these checks passed.
    opened.check();
    const tables = compareTables(facts.tables, output.tables());
    const wrong = tables.filter((t) => !t.ok);
    if (wrong.length > 0) {
      throw new RestoreFailedError(`The restored database does not match the backup: ${wrong.map((t) => `${t.name} has ${t.rows ?? 'no'} rows (expected ${t.expectedRows})${t.expectedChecksum !== null && t.checksum !== t.expectedChecksum ? ', checksum differs' : ''}`).join('; ')}.`);
    }
    await connection.run(['docker', 'exec', '-i', container.id, 'sh', '-c', PG_RENAME_SCRIPT, PG_RENAME_SCRIPT_NAME, request.adminUser, staging, database], { timeoutMs: request.timeoutMs });
    created = false;
    logger.info(`Restored ${request.object.key} into database ${database} on ${connection.host}: ${tables.length} tables, every row count${tables.some((t) => t.expectedChecksum !== null) ? ' and checksum' : ''} as recorded.`);
    return { database, tables, durationMs: Math.round(performance.now() - started) };
  } catch (error: unknown) {
    if (created) {
      await connection.run(['docker', 'exec', container.id, 'dropdb', '--if-exists', `--username=${request.adminUser}`, staging], { timeoutMs: 120_000 }).then(
        () => logger.info(`Dropped the half-restored database ${staging} again; ${database} was not created.`),
        (dropError: unknown) => logger.warning(`The half-restored database ${staging} could not be dropped: ${dropError instanceof Error ? dropError.message : String(dropError)}`),
      );
    }
    throw error;
  }
}
