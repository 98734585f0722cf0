/**
 * A Redis backup put back into the stack's own Redis, in two steps:
 *
 *   stage   while Redis still runs, the RDB is streamed from Spaces (decrypted) into its data folder
 *           as `.titan-restore-<backup id>.rdb`, through container-work (a run cut off leaves no half
 *           file: the script's trap removes it unless the copy ended whole);
 *   swap    with Redis stopped, a one-off container of the redis service (`compose run`, the same
 *           volume) moves the live `dump.rdb` and append-only files aside as `*.pre-restore-<id>`
 *           (kept: the data it replaces can be brought back by hand) and puts the backup in as
 *           `dump.rdb` and, when append-only persistence is on (Redis then loads only that), as the
 *           base of a fresh append-only file: Redis 7's `appendonlydir` (manifest, an RDB base, an
 *           empty increment) or an older single `appendonly.aof` (an RDB is one, as its preamble).
 */
import type { BackupManifest, ManifestObject } from '@titan/backup/backup-manifest';
import { containerWork, newWorkToken, scriptPrelude } from '@titan/backup/container-work';
import type { ServiceContainer } from '@titan/backup/stack-container';
import { composeArgv, type ComposeTarget } from '@titan/host/compose-command';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import type { SshConnection } from '@titan/ssh/connection';
import { explain, openObject } from './backup-object.js';
import { EXIT_NO_INPUT, EXIT_TERMINATED } from '@titan/ssh/exit-status';

export const REDIS_STAGE_SCRIPT_NAME = 'titan-redis-stage';

// Runs inside the redis container (through container-work). $1 the data folder, $2 the staged file
// name, $3 the work token. The RDB on stdin.
export const REDIS_STAGE_SCRIPT = `${scriptPrelude(['dir', 'name'])}
staged="$dir/$name"
done=0
trap 'if [ "$done" != 1 ]; then rm -f "$staged.part"; fi; rm -rf "$work"' EXIT
trap 'exit ${EXIT_TERMINATED}' TERM
cat >"$staged.part"
mv -f "$staged.part" "$staged"
done=1
echo "titan-redis-stage: $(wc -c <"$staged") bytes"
`;

export const REDIS_SWAP_SCRIPT_NAME = 'titan-redis-swap';

// Runs in a one-off container of the redis service (Redis stopped). $1 the data folder, $2 the
// staged file name, $3 the suffix for what it replaces.
export const REDIS_SWAP_SCRIPT = `set -eu
dir=$1
name=$2
suffix=$3
cd "$dir"
[ -s "$name" ] || { echo "titan-redis-swap: no staged RDB $dir/$name (or an empty one)" >&2; exit ${EXIT_NO_INPUT}; }
if [ -e dump.rdb ]; then mv -f dump.rdb "dump.rdb.$suffix"; fi
if [ -d appendonlydir ]; then
  # Redis 7's multi-part append-only file: with it on, Redis loads that, not dump.rdb. The backup
  # becomes its base (an RDB base, as aof-use-rdb-preamble writes it) with an empty increment.
  manifest=$(find appendonlydir -maxdepth 1 -name '*.manifest' | head -n 1)
  prefix=appendonly.aof
  if [ -n "$manifest" ]; then prefix=$(basename "$manifest" .manifest); fi
  mv -f appendonlydir "appendonlydir.$suffix"
  mkdir appendonlydir
  cp "$name" "appendonlydir/$prefix.1.base.rdb"
  : >"appendonlydir/$prefix.1.incr.aof"
  printf 'file %s seq 1 type b\\nfile %s seq 1 type i\\n' "$prefix.1.base.rdb" "$prefix.1.incr.aof" >"appendonlydir/$prefix.manifest"
elif [ -e appendonly.aof ]; then
  # An older single append-only file: an RDB is a valid one (the RDB preamble), so the backup is it.
  mv -f appendonly.aof "appendonly.aof.$suffix"
  cp "$name" appendonly.aof
fi
mv -f "$name" dump.rdb
echo "titan-redis-swap: the backup is Redis's data now; the data it replaced is kept as *.$suffix"
`;

export function stagedName(backupId: string): string {
  return `.titan-restore-${backupId}.rdb`;
}

/** Streams the RDB into the data folder of the running Redis; its sha256 is checked before it counts. */
export async function stageRedis(
  connection: SshConnection,
  request: { store: ObjectStore; manifest: BackupManifest; object: ManifestObject; identity: string | undefined; container: ServiceContainer; dataDir: string; timeoutMs: number; logger: Logger },
): Promise<string> {
  const name = stagedName(request.manifest.backupId);
  const opened = await openObject(request.store, request.object, request.manifest.encryption, request.identity);
  const token = newWorkToken();
  try {
    const { stdout } = await connection.run(containerWork(request.container.id, token, ['sh', '-c', REDIS_STAGE_SCRIPT, REDIS_STAGE_SCRIPT_NAME, request.dataDir, name, token]), {
      stdin: opened.plain,
      timeoutMs: request.timeoutMs,
    });
    opened.check();
    // What was sent is the backup's; what arrived must be all of it.
    const written = /titan-redis-stage: \s*(\d+) bytes/.exec(stdout)?.[1];
    if (written === undefined || Number(written) !== request.object.plainSize) {
      throw new Error(`The staged RDB in the redis container holds ${written ?? 'an unknown number of'} bytes; the backup's is ${request.object.plainSize} bytes.`);
    }
  } catch (error: unknown) {
    await connection.run(['docker', 'exec', request.container.id, 'rm', '-f', `${request.dataDir}/${name}`], { timeoutMs: 60_000 }).catch(() => undefined);
    throw (await explain(request.store, request.object)) ?? error;
  }
  request.logger.info(`Staged ${request.object.key} as ${request.dataDir}/${name} in the redis container (sha256 checked).`);
  return name;
}

/** With Redis stopped: the staged RDB in, the live data kept aside. */
export async function swapRedis(connection: SshConnection, target: ComposeTarget, service: string, dataDir: string, backupId: string, logger: Logger): Promise<string> {
  const suffix = `pre-restore-${backupId}`;
  await connection.run(composeArgv(target, ['run', '--rm', '--no-deps', '-T', '--entrypoint', 'sh', service, '-c', REDIS_SWAP_SCRIPT, REDIS_SWAP_SCRIPT_NAME, dataDir, stagedName(backupId), suffix]), {
    timeoutMs: 300_000,
    logOutput: 'info',
  });
  logger.info(`Redis data replaced by backup ${backupId}; the data it replaced is kept in ${dataDir} as dump.rdb.${suffix} (and appendonlydir.${suffix}).`);
  return suffix;
}
