/**
 * The Redis part of a backup: a fresh RDB snapshot, streamed out like the dump. Inside the redis
 * container: note LASTSAVE, wait for any save in progress, BGSAVE, wait until LASTSAVE changes and
 * the save reported ok, then stream the RDB file (Redis writes it under a temporary name and renames
 * it, so the file opened is a whole snapshot). The password is read from the container's own
 * environment variable (its name is passed, never its value) into REDISCLI_AUTH, so it is on no
 * command line.
 */
import type { Writable } from 'node:stream';
import type { SshConnection } from '@titan/ssh/connection';
import type { RedisFacts } from './backup-manifest.js';
import { type MarkedLines, scriptPrelude, streamFromContainer } from './container-work.js';
import type { ServiceContainer } from './stack-container.js';
import { EXIT_IO_ERROR, EXIT_TEMPORARY, EXIT_TERMINATED, EXIT_UNAVAILABLE, EXIT_USAGE } from '@titan/ssh/exit-status';

export const REDIS_SNAPSHOT_SCRIPT_NAME = 'titan-redis-snapshot';

// Runs inside the redis container (through container-work.ts). $1 the name of the environment
// variable holding the password ('' for none), $2 the port, $3 seconds to wait for the save, $4 the
// work token.
export const REDIS_SNAPSHOT_SCRIPT = `${scriptPrelude(['password_var', 'port', 'limit'])}
trap 'rm -rf "$work"' EXIT
trap 'exit ${EXIT_TERMINATED}' TERM
if [ -n "$password_var" ]; then
  if ! REDISCLI_AUTH=$(printenv "$password_var"); then
    echo "titan-redis-snapshot: $password_var is not set in the redis container" >&2
    exit ${EXIT_USAGE}
  fi
  export REDISCLI_AUTH
fi
cli() {
  redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@"
}
field() {
  cli INFO "$1" | tr -d '\\r' | sed -n "s/^$2://p"
}
# wait_until WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds; after $limit s, says WHAT and exits.
wait_until() {
  what=$1
  shift
  i=0
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -gt $((limit * 10)) ]; then
      echo "titan-redis-snapshot: $what" >&2
      exit ${EXIT_TEMPORARY}
    fi
    sleep 0.1
  done
}
idle() {
  [ "$(field persistence rdb_bgsave_in_progress)" = 0 ]
}
saved() {
  now=$(cli LASTSAVE)
  [ "$now" != "$before" ] && idle
}
before=$(cli LASTSAVE)
case "$before" in
  '' | *[!0-9]*) echo "titan-redis-snapshot: LASTSAVE answered: $before" >&2; exit ${EXIT_UNAVAILABLE} ;;
esac
wait_until "a save still runs after $limit s" idle
before=$(cli LASTSAVE)
answer=$(cli BGSAVE)
case "$answer" in
  *'started'* | *'scheduled'*) ;;
  *) echo "titan-redis-snapshot: BGSAVE answered: $answer" >&2; exit ${EXIT_UNAVAILABLE} ;;
esac
now=
wait_until "LASTSAVE did not change within $limit s of BGSAVE" saved
status=$(field persistence rdb_last_bgsave_status)
if [ "$status" != ok ]; then
  echo "titan-redis-snapshot: the snapshot failed (rdb_last_bgsave_status: $status)" >&2
  exit ${EXIT_IO_ERROR}
fi
dir=$(cli CONFIG GET dir | sed -n 2p)
file=$(cli CONFIG GET dbfilename | sed -n 2p)
if [ -z "$dir" ] || [ -z "$file" ]; then
  echo "titan-redis-snapshot: CONFIG GET dir/dbfilename gave no answer" >&2
  exit ${EXIT_UNAVAILABLE}
fi
keys=$(cli INFO keyspace | tr -d '\\r' | sed -n 's/^db[0-9]*:keys=\\([0-9]*\\),.*/\\1/p' | awk '{ n += $1 } END { print n + 0 }')
echo "titan-backup-redis: version $(field server redis_version)" >&2
echo "titan-backup-redis: lastsave $now" >&2
echo "titan-backup-redis: keys $keys" >&2
cat "$dir/$file"
`;

export interface RedisSource {
  readonly container: ServiceContainer;
  /** The container's environment variable holding the password ('' when there is none). */
  readonly passwordVariable: string;
  readonly port: number;
}

export function parseRedisFacts(marked: MarkedLines, source: RedisSource): RedisFacts {
  const missing = 'The Redis snapshot ended without reporting its version, LASTSAVE and key count.';
  const reported = marked.values('titan-backup-redis:', ['version', 'lastsave', 'keys'], missing);
  const [lastSave, keys] = [Number(reported.lastsave), Number(reported.keys)];
  if (!Number.isSafeInteger(lastSave) || !Number.isSafeInteger(keys)) throw new Error(missing);
  return { service: source.container.service, version: reported.version, keys, lastSave };
}

export async function snapshotRedis(connection: SshConnection, source: RedisSource, sink: Writable, signal: AbortSignal, timeoutMs: number): Promise<RedisFacts> {
  const saveLimit = Math.max(10, Math.floor(timeoutMs / 2000));
  const script = { name: REDIS_SNAPSHOT_SCRIPT_NAME, text: REDIS_SNAPSHOT_SCRIPT, args: [source.passwordVariable, String(source.port), String(saveLimit)] };
  const marked = await streamFromContainer(connection, source.container.id, script, sink, { marker: 'titan-backup-redis', signal, timeoutMs });
  return parseRedisFacts(marked, source);
}
