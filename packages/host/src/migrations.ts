/**
 * Database migrations on the host. The history lives in the database itself, in _titan_migrations
 * (file, sha256, release, applied_at). Each migration runs in ONE transaction through
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
import { type ComposeTarget, composeArgv } from './compose-command.js';
import type { AppliedMigration, MigrationFile } from './migration-plan.js';
import { EXIT_NO_DATABASE } from '@titan/ssh/exit-status';

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

export const READ_MIGRATIONS_SCRIPT_NAME = 'titan-read-migrations';

// The history table; created, when missing, in the same transaction as the first migration.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  file text PRIMARY KEY,
  sha256 char(64) NOT NULL,
  release text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;

// $1 project, $2 role, $3 database, $4 seconds to wait for postgres, $5 its compose service. Reads (never writes) the history:
// "file sha256" lines, nothing when there is no history table yet. Waits for the project's running
// postgres container to accept connections only when the first try fails; a stopped or missing one
// is said at once.

export const READ_MIGRATIONS_SCRIPT = `set -eu
project=$1
role=$2
db=$3
wait=$4
service=$5
postgres_id() {
  docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" | head -n 1
}
read_history() {
  docker exec -i "$1" psql -X -q -v ON_ERROR_STOP=1 -A -t -U "$role" -d "$db" <<'SQL'
SELECT to_regclass('${MIGRATIONS_TABLE}') IS NOT NULL AS present \\gset
\\if :present
SELECT file || ' ' || sha256 FROM ${MIGRATIONS_TABLE} ORDER BY file;
\\endif
SQL
}
id=$(postgres_id)
if [ -n "$id" ] && read_history "$id" 2> /dev/null; then
  exit 0
fi
if [ -z "$id" ]; then
  if [ -n "$(docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service")" ]; then
    echo "the $service container of project $project is stopped" >&2
  else
    echo "project $project has no $service container" >&2
  fi
  exit ${EXIT_NO_DATABASE}
fi
deadline=$(($(date +%s) + wait))
while :; do
  id=$(postgres_id)
  if [ -n "$id" ] && docker exec "$id" pg_isready -q -h /var/run/postgresql -U "$role" -d "$db" > /dev/null 2>&1; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$service of project $project does not accept connections after $wait s" >&2
    exit 1
  fi
  sleep 1
done
read_history "$id"
`;

export const APPLY_MIGRATION_SCRIPT_NAME = 'titan-apply-migration';

// $1 SQL file on the host, $2 file name, $3 its sha256, $4 release id, $5 role, $6 database, $7 the
// work record to write while it runs (state/work-<session>-migration: see END_WORK_PART, which ends
// the work of a deploy that is gone), $8 the database application name of this work, then the
// compose service of the database, then the docker compose command (env TITAN_MODE=... docker compose -p ... --env-file ...).
export const APPLY_MIGRATION_SCRIPT = `set -eu
sql=$1
name=$2
sha=$3
release=$4
role=$5
db=$6
work=$7
app_name=$8
service=$9
shift 9
container=$("$@" ps -q "$service")
mkdir -p "$(dirname "$work")"
printf '%s %s %s %s\\n' "$container" "$role" "$db" "$app_name" > "$work.tmp"
mv -f "$work.tmp" "$work"
{
  cat <<'SQL'
SET client_min_messages TO warning;
${CREATE_TABLE}
SQL
  cat "$sql"
  cat <<'SQL'

;
INSERT INTO ${MIGRATIONS_TABLE} (file, sha256, release) VALUES (:'titan_file', :'titan_sha256', :'titan_release');
SQL
} | "$@" exec -T -e "PGAPPNAME=$app_name" "$service" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U "$role" -d "$db" \\
  -v "titan_file=$name" -v "titan_sha256=$sha" -v "titan_release=$release"
rm -f "$work"
`;

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
    ({ stdout } = await connection.runScript(READ_MIGRATIONS_SCRIPT, [project, db.user, db.database, String(options.waitSeconds), db.service], {
      name: READ_MIGRATIONS_SCRIPT_NAME,
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
  return stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((words): words is [string, string] => words.length === 2 && words[0] !== '' && words[1] !== undefined)
    .map(([file, sha256]) => ({ file, sha256 }));
}

/**
 * Who a migration's database session belongs to: the deploy's lock session (its token) and the
 * host's state folder, where the work is recorded while it runs. When that deploy ends for any
 * reason before the migration does, the host terminates the session (the transaction rolls back)
 * before the deploy lock is free (session-lock-script.ts END_WORK_PART).
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
    await connection.runScript(
      APPLY_MIGRATION_SCRIPT,
      [
        `${request.releaseDir}/${migration.path}`, migration.file, migration.sha256, request.releaseId, db.user, db.database,
        `${work.stateDir}/work-${work.token}-migration`, `titan-migration-${work.token}`, db.service,
        ...composeArgv(target, []),
      ],
      { name: APPLY_MIGRATION_SCRIPT_NAME, timeoutMs: 30 * 60_000 },
    );
  } catch (error: unknown) {
    if (error instanceof CommandFailedError) throw new MigrationFailedError(migration.file, error.stderrTail.trim() || error.message, { cause: error });
    throw error;
  }
  const ms = Math.round(performance.now() - started);
  logger.info(`Applied ${migration.file} in ${(ms / 1000).toFixed(2)} s`);
  return ms;
}
