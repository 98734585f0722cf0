/**
 * The Postgres part of a backup: `pg_dump --format=custom` of the stack's database, run inside its
 * container with `docker exec` and streamed out on stdout through the SSH connection; nothing is
 * written to disk on the host or in the container but a few lines of metadata.
 *
 * The facts the verification compares with are taken in THE SAME SNAPSHOT as the dump: a psql
 * session opens a REPEATABLE READ transaction and exports its snapshot (pg_export_snapshot), pg_dump
 * dumps from that snapshot (`--snapshot`), and the same session meanwhile counts the rows of every
 * table and computes an order-independent checksum (the sum of the rows' md5s) of the chosen ones.
 * They are reported on stderr as marked lines; the session commits once pg_dump is done.
 *
 * Killing the command (timeout, abort, a lost connection) ends `docker exec`; pg_dump then dies on
 * its closed output and the script's trap removes its folder and ends the session.
 */
import type { Writable } from 'node:stream';
import type { SshConnection } from '@titan/ssh/connection';
import type { PostgresFacts } from './backup-manifest.js';
import { type MarkedLines, scriptPrelude, streamFromContainer } from './container-work.js';
import type { ServiceContainer } from './stack-container.js';
import { parseTableFacts, TABLE_FACTS_QUERY, TABLE_FACTS_SETTINGS } from './table-facts.js';
import { EXIT_HANGUP, EXIT_SOFTWARE, EXIT_TERMINATED } from '@titan/ssh/exit-status';

/** psql text as it must be written inside the script's unquoted here-document (backslashes doubled). */
function heredoc(sql: string): string {
  return sql.replace(/\\/g, '\\\\');
}

export const PG_DUMP_SCRIPT_NAME = 'titan-pg-dump';

// Runs inside the postgres container (through container-work.ts). $1 database, $2 user, $3 tables
// to checksum: '*' (all), '' (none) or a comma-separated list of table or schema.table names, $4 the
// work token.
export const PG_DUMP_SCRIPT = `${scriptPrelude(['db', 'user', 'tables'])}
psql_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$psql_pid" ]; then kill "$psql_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit ${EXIT_TERMINATED}' TERM
trap 'exit ${EXIT_HANGUP}' HUP
mkfifo "$work/sql"
psql -X -q -A -t -v ON_ERROR_STOP=1 -v tables="$tables" -U "$user" -d "$db" -f "$work/sql" >"$work/psql.out" 2>"$work/psql.err" &
psql_pid=$!
# Read-write: opening a FIFO for writing alone would block forever if psql failed before opening it.
exec 3<>"$work/sql"
cat >&3 <<SQL
SET idle_in_transaction_session_timeout = 0;
SET statement_timeout = 0;
${TABLE_FACTS_SETTINGS}BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
\\\\o $work/snapshot.part
SELECT pg_export_snapshot() || ' ' || current_setting('server_version');
\\\\o
\\\\! mv $work/snapshot.part $work/snapshot
\\\\o $work/tables.part
${heredoc(TABLE_FACTS_QUERY)}\\\\o
\\\\! mv $work/tables.part $work/tables
SQL
waited=0
while [ ! -s "$work/snapshot" ]; do
  if ! kill -0 "$psql_pid" 2>/dev/null; then
    echo "titan-pg-dump: psql could not open a snapshot of database $db as $user:" >&2
    cat "$work/psql.err" >&2
    exit ${EXIT_SOFTWARE}
  fi
  waited=$((waited + 1))
  if [ "$waited" -gt 1200 ]; then
    echo "titan-pg-dump: no snapshot of database $db after 60 s" >&2
    exit ${EXIT_SOFTWARE}
  fi
  sleep 0.05
done
read -r snapshot version <"$work/snapshot"
echo "titan-backup-pg: server $version" >&2
echo "titan-backup-pg: dump $(pg_dump --version)" >&2
pg_dump --snapshot="$snapshot" --format=custom --username="$user" --dbname="$db"
# A session that already ended (an error) must not kill this shell with SIGPIPE: its status is read below.
trap '' PIPE
printf 'COMMIT;\\n' >&3 2>/dev/null || true
exec 3>&-
status=0
wait "$psql_pid" || status=$?
psql_pid=
if [ "$status" -ne 0 ] || [ ! -f "$work/tables" ]; then
  echo "titan-pg-dump: counting and checksumming the tables of $db failed (psql exit $status):" >&2
  cat "$work/psql.err" >&2
  exit ${EXIT_SOFTWARE}
fi
sed 's/^/titan-backup-pg-table: /' "$work/tables" >&2
`;

export interface PostgresSource {
  readonly container: ServiceContainer;
  readonly database: string;
  readonly user: string;
  /** '*' (every table), '' (none) or table names (`orders`, `public.orders`). */
  readonly checksumTables: string;
}

/** The facts pg_dump's stderr carried, once it ended. */
export function parseDumpFacts(marked: MarkedLines, source: PostgresSource): PostgresFacts {
  const versions = marked.values('titan-backup-pg:', ['server', 'dump'], 'pg_dump ended without reporting the server and pg_dump versions.');
  const tables = parseTableFacts(marked.all('titan-backup-pg-table:'));
  return { service: source.container.service, database: source.database, user: source.user, serverVersion: versions.server, dumpVersion: versions.dump, tables };
}

/** Streams the dump into `sink`; resolves with the facts once pg_dump and the session succeeded. */
export async function dumpPostgres(connection: SshConnection, source: PostgresSource, sink: Writable, signal: AbortSignal, timeoutMs: number): Promise<PostgresFacts> {
  const script = { name: PG_DUMP_SCRIPT_NAME, text: PG_DUMP_SCRIPT, args: [source.database, source.user, source.checksumTables] };
  const marked = await streamFromContainer(connection, source.container.id, script, sink, { marker: 'titan-backup-pg', signal, timeoutMs });
  return parseDumpFacts(marked, source);
}
