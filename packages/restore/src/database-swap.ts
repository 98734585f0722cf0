/**
 * The database half of a restore into the stack (stack-restore.ts): the restored copy, made beside
 * the live database while the stack still ran (`<db>_incoming_<stamp>`), takes the live one's name
 * in ONE transaction that also keeps the live one as `<db>_pre_restore_<stamp>` (sessions on either
 * are ended first); or, when the restore stops before that swap, the copy is dropped again, so the
 * stack's database is as it was.
 */
import type { SshConnection } from '@titan/ssh/connection';

export interface DatabaseSwap {
  /** The Postgres container's id. */
  readonly containerId: string;
  readonly adminUser: string;
  /** The live database, the name it is kept under, and the restored copy. */
  readonly live: string;
  readonly old: string;
  readonly incoming: string;
}

/** `incoming` becomes `live`; `live` is kept as `old`: both renames commit together or neither does. */
export async function swapDatabases(connection: SshConnection, swap: DatabaseSwap): Promise<void> {
  await connection.run(
    ['docker', 'exec', '-i', swap.containerId, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-v', `live=${swap.live}`, '-v', `old=${swap.old}`, '-v', `incoming=${swap.incoming}`, '-U', swap.adminUser, '-d', 'postgres'],
    {
      stdin: `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (:'live', :'incoming') AND pid <> pg_backend_pid();\nALTER DATABASE :"live" RENAME TO :"old";\nALTER DATABASE :"incoming" RENAME TO :"live";\n`,
      timeoutMs: 120_000,
    },
  );
}

/** Drops the restored copy `database` (if it is there): it is the restore's, never the stack's. */
export async function dropRestoredCopy(connection: SshConnection, containerId: string, adminUser: string, database: string): Promise<void> {
  await connection.run(['docker', 'exec', containerId, 'dropdb', '--if-exists', `--username=${adminUser}`, database], { timeoutMs: 120_000 });
}
