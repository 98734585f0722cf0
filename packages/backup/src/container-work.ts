/**
 * Work run inside a container of the stack that never outlives the run that started it. Killing a
 * `docker exec` client does not stop what it started in the container (dockerd keeps the process and
 * its pipes), so every such command goes through this wrapper, on the host:
 *
 *   - the in-container script is given a token and records its pid in /tmp/titan-backup.<token>/pid
 *     (its own work folder, which its EXIT trap removes);
 *   - the wrapper runs `docker exec` in the background and waits for it; when the wrapper is stopped
 *     (the run's timeout or abort kills its process group: TERM), or when `docker exec` ends with a
 *     failure (it dies of SIGPIPE once the SSH connection is gone, or the work failed), it ends the
 *     in-container work: TERM to the script's children (pg_dump, psql, cat) and to the script.
 *
 * So a run cut off by a lost connection still leaves nothing behind on the host: no dump running,
 * no database session holding a snapshot, no work folder.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { SshConnection } from '@titan/ssh/connection';
import type { Arg } from '@titan/ssh/shell-quote';
import { EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED } from '@titan/ssh/exit-status';

export const CONTAINER_WORK_SCRIPT_NAME = 'titan-container-work';

// $1 container id, $2 token, then the command `docker exec` runs in the container. Standard input is
// passed on through fd 3: an asynchronous list reads /dev/null in a shell without job control, and
// dash assigns that BEFORE the list's own redirections, so `<&0` would pass on /dev/null.
export const CONTAINER_WORK_SCRIPT = `set -eu
container=$1
token=$2
shift 2
stop_work() {
  # shellcheck disable=SC2016 # expanded by the container's shell
  docker exec "$container" sh -c 'pidfile=/tmp/titan-backup.$1/pid; [ -f "$pidfile" ] || exit 0; pid=$(cat "$pidfile"); pkill -TERM -P "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true' titan-stop "$token" >/dev/null 2>&1 || true
}
child=
trap 'stop_work; [ -z "$child" ] || wait "$child" 2>/dev/null || true; exit ${EXIT_TERMINATED}' TERM
trap 'stop_work; exit ${EXIT_HANGUP}' HUP
trap 'stop_work; exit ${EXIT_INTERRUPTED}' INT
exec 3<&0
docker exec -i "$container" "$@" <&3 3<&- &
child=$!
status=0
wait "$child" || status=$?
child=
if [ "$status" -ne 0 ]; then
  stop_work
fi
exit "$status"
`;

/** The work folder an in-container script of this run uses (token: 16 hex digits). */
export function newWorkToken(): string {
  return randomBytes(8).toString('hex');
}

/** The argv that runs `command` in `container` through the wrapper. */
export function containerWork(containerId: string, token: string, command: readonly Arg[]): { script: string; args: Arg[]; name: string } {
  if (!/^[0-9a-f]{16}$/.test(token)) throw new Error(`${token} is not a work token.`);
  return { script: CONTAINER_WORK_SCRIPT, args: [containerId, token, ...command], name: CONTAINER_WORK_SCRIPT_NAME };
}

/**
 * The start every in-container script shares: `set -eu`, its arguments named in order ($1 = the
 * first name, …) with the work token after them, its work folder made and its pid recorded there
 * (the script's EXIT trap removes the folder).
 */
export function scriptPrelude(names: readonly string[]): string {
  const assigned = [...names, 'token'].map((name, i) => `${name}=$${i + 1}`);
  return ['set -eu', ...assigned, 'work=/tmp/titan-backup.$token', 'mkdir -m 700 "$work"', 'echo "$$" >"$work/pid"'].join('\n');
}

/** An in-container script run through the wrapper: its name (`$0`), text and arguments before the token. */
export interface ContainerScript {
  readonly name: string;
  readonly text: string;
  readonly args: readonly Arg[];
}

/**
 * Runs `script` in the container through the wrapper, its standard output streamed into `sink` (a
 * backup object); resolves, once it succeeded, with the stderr lines that start with `marker`
 * (the facts the script reports beside the data).
 */
export async function streamFromContainer(
  connection: SshConnection,
  containerId: string,
  script: ContainerScript,
  sink: Writable,
  options: { readonly marker: string; readonly signal: AbortSignal; readonly timeoutMs: number },
): Promise<MarkedLines> {
  const lines: string[] = [];
  const token = newWorkToken();
  await connection.streamStdout(containerWork(containerId, token, ['sh', '-c', script.text, script.name, ...script.args, token]), sink, {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    onStderrLine: (line) => {
      if (line.startsWith(options.marker)) lines.push(line);
    },
  });
  return new MarkedLines(lines);
}

/** Lines `marker name value` a script reported on stderr. */
export class MarkedLines {
  readonly lines: readonly string[];
  constructor(lines: readonly string[]) {
    this.lines = lines;}

  /** The value after `prefix ` in the first line that starts with it ('' when there is none). */
  value(prefix: string): string {
    return this.lines.find((l) => l.startsWith(`${prefix} `))?.slice(prefix.length + 1).trim() ?? '';
  }

  /**
   * The value of `prefix NAME value` for each of `names` (one reading of a script's facts); throws
   * `missing` when one of them is absent or empty.
   */
  values<N extends string>(prefix: string, names: readonly N[], missing: string): Record<N, string> {
    const found = Object.fromEntries(names.map((name) => [name, this.value(`${prefix} ${name}`)])) as Record<N, string>;
    if (names.some((name) => found[name] === '')) throw new Error(missing);
    return found;
  }

  /** Every line that starts with `prefix `, without it. */
  all(prefix: string): string[] {
    return this.lines.filter((l) => l.startsWith(`${prefix} `)).map((l) => l.slice(prefix.length + 1));
  }
}
