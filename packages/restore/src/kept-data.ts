/**
 * What a restore into the stack keeps of the data it replaces is named after the backup: the
 * database `<db>_pre_restore_<stamp>`, Redis's `*.pre-restore-<id>` files, the stream snapshots in
 * `state/pre-restore-<stamp>/`. A second restore of the same backup would have to overwrite them
 * (and lose the data they hold), so before anything is made ready it looks for them, and the restore
 * is refused while any of them is in the way.
 */
import type { ServiceContainer } from '@titan/backup/stack-container';
import type { SshConnection } from '@titan/ssh/connection';

export interface KeptNames {
  readonly postgres: { readonly container: ServiceContainer; readonly adminUser: string; readonly database: string } | undefined;
  readonly redis: { readonly container: ServiceContainer; readonly dataDir: string; readonly suffix: string } | undefined;
  /** The folder on the host the stream snapshots are kept in (`<stream>.snapshot`). */
  readonly streamsDir: string | undefined;
}

/** The kept data of an earlier restore of the same backup that is still there (empty: none). */
export async function keptDataInTheWay(connection: SshConnection, names: KeptNames): Promise<string[]> {
  const found: string[] = [];
  if (names.postgres !== undefined) {
    const { container, adminUser, database } = names.postgres;
    const { stdout } = await connection.run(['docker', 'exec', '-i', container.id, 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-v', `db=${database}`, '-U', adminUser, '-d', 'postgres'], {
      stdin: "SELECT count(*) FROM pg_database WHERE datname = :'db';\n",
      timeoutMs: 60_000,
    });
    if (stdout.trim() !== '0') found.push(`database ${database}`);
  }
  if (names.redis !== undefined) {
    const { container, dataDir, suffix } = names.redis;
    const { stdout } = await connection.run(['docker', 'exec', container.id, 'sh', '-c', 'cd "$1" && for f in *."$2"; do [ -e "$f" ] && echo "$1/$f"; done; true', 'titan-kept', dataDir, suffix], { timeoutMs: 60_000 });
    for (const line of stdout.split('\n')) if (line !== '') found.push(`redis ${line}`);
  }
  if (names.streamsDir !== undefined) {
    const { stdout } = await connection.run(['sh', '-c', 'for f in "$1"/*.snapshot; do [ -e "$f" ] && echo "$f"; done; true', 'titan-kept', names.streamsDir], { timeoutMs: 60_000 });
    for (const line of stdout.split('\n')) if (line !== '') found.push(`stream snapshot ${line}`);
  }
  return found;
}
