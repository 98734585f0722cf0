/**
 * The orderly shutdown: the grouped services of the stack profile stop group after group, in its
 * stop order (examples/titan: the strategies, then the execution engine, then the orchestrator,
 * then the operator surface). Each group's containers get `docker stop` (all of a group at once,
 * each with its stop timeout) and are checked stopped (`docker inspect`: State.Running false)
 * before the next group is touched. Infrastructure keeps running.
 *
 * `stop` stops only the trading groups and leaves the others (the operator surface: operators keep
 * it to see the halted stack) running; `restart` and `rollback` stop them last, since they are
 * recreated with the release.
 *
 * Containers are found by the compose project and service labels, not through the release's compose
 * files: a rollback away from a release whose files are damaged can still stop it. The whole
 * shutdown is ONE remote command, which reports each group as it completes.
 */
import type { Logger } from '@titan/log/logger';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import type { StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import { EXIT_STILL_RUNNING } from '@titan/ssh/exit-status';

export type ShutdownScope = 'trading' | 'all';

/** The groups to stop, in order: `trading` (mode stop) leaves the groups that are not trading running. */
export function shutdownGroups(profile: StackProfile, scope: ShutdownScope): readonly (readonly string[])[] {
  return profile.groups.filter((g) => scope === 'all' || g.trading).map((g) => g.services);
}

export interface StoppedGroup {
  readonly services: readonly string[];
  /** Containers of the group (running or not) that were stopped and checked. */
  readonly containers: number;
  readonly durationMs: number;
}

export class OrderlyStopError extends Error {
  override readonly name = 'OrderlyStopError';

  readonly stopped: readonly StoppedGroup[];
  constructor(message: string, stopped: readonly StoppedGroup[], options?: ErrorOptions) {
    super(message, options);
    this.stopped = stopped;
  }
}

export const ORDERLY_STOP_SCRIPT_NAME = 'titan-orderly-stop';

// $1 project, $2 stop timeout in seconds ('' = each container's own, from stop_grace_period), then
// one argument per group: its service names, space-separated. For each group, in order: "stopped
// <index> <containers> <milliseconds>", or "still-running <index> <services>" and exits EXIT_STILL_RUNNING.
export const ORDERLY_STOP_SCRIPT = `set -eu
project=$1
timeout=$2
shift 2
count() { echo $#; }
all=$(docker ps -a --no-trunc --filter "label=com.docker.compose.project=$project" --format '{{.ID}} {{.Label "com.docker.compose.service"}}')
index=0
for group in "$@"; do
  index=$((index + 1))
  start=$(date +%s%3N)
  ids=$(printf '%s\\n' "$all" | awk -v g=" $group " 'NF == 2 && index(g, " " $2 " ") > 0 { print $1 }')
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one argument per container id
    if [ -n "$timeout" ]; then docker stop -t "$timeout" $ids > /dev/null; else docker stop $ids > /dev/null; fi
    # shellcheck disable=SC2086 # one argument per container id
    running=$(docker inspect --format '{{.State.Running}} {{index .Config.Labels "com.docker.compose.service"}}' $ids | awk '$1 == "true" { print $2 }' | sort -u | tr '\\n' ' ')
    if [ -n "$running" ]; then
      printf 'still-running %s %s\\n' "$index" "$running"
      exit ${EXIT_STILL_RUNNING}
    fi
  fi
  end=$(date +%s%3N)
  # shellcheck disable=SC2086 # one word per container id
  printf 'stopped %s %s %s\\n' "$index" "$(count $ids)" "$((end - start))"
done
`;

export interface OrderlyStopRequest {
  readonly project: string;
  readonly groups: readonly (readonly string[])[];
  /** Seconds each container gets between SIGTERM and SIGKILL; undefined: its own stop_grace_period. */
  readonly stopTimeoutSeconds: number | undefined;
  readonly logger: Logger;
}

export async function stopInOrder(connection: SshConnection, request: OrderlyStopRequest): Promise<StoppedGroup[]> {
  const { groups, logger } = request;
  for (const service of groups.flat()) {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`Service name ${JSON.stringify(service)} does not match ${SERVICE_NAME_PATTERN.source}.`);
  }
  const stopped: StoppedGroup[] = [];
  let stillRunning = '';
  const onLine = (line: string): void => {
    const [kind, index, ...rest] = line.split(' ');
    const group = groups[Number(index) - 1];
    if (group === undefined) return;
    if (kind === 'stopped') {
      const record = { services: group, containers: Number(rest[0]), durationMs: Number(rest[1]) };
      stopped.push(record);
      logger.info(`Stopped ${group.join(', ')}: ${record.containers} container(s), checked not running, in ${(record.durationMs / 1000).toFixed(2)} s.`);
    } else if (kind === 'still-running') {
      stillRunning = rest.join(' ').trim();
    }
  };
  logger.info(`Stopping in order: ${groups.map((g) => g.join(', ')).join(' -> ')}`);
  const perGroupSeconds = request.stopTimeoutSeconds ?? 30;
  try {
    await connection.runScript(ORDERLY_STOP_SCRIPT, [request.project, request.stopTimeoutSeconds === undefined ? '' : String(request.stopTimeoutSeconds), ...groups.map((g) => g.join(' '))], {
      name: ORDERLY_STOP_SCRIPT_NAME,
      timeoutMs: (groups.length * (perGroupSeconds + 30) + 30) * 1000,
      onStdoutLine: onLine,
    });
  } catch (error: unknown) {
    const next = groups[stopped.length];
    if (error instanceof CommandFailedError && error.exitCode === EXIT_STILL_RUNNING) {
      throw new OrderlyStopError(
        `The orderly shutdown stopped at ${next?.join(', ') ?? 'a group'}: ${stillRunning || 'some of its containers'} still run(s) after docker stop. ` +
          'Nothing was switched; the groups after it were not touched. Look at those containers (docker inspect, docker logs) before trying again.',
        stopped,
        { cause: error },
      );
    }
    throw new OrderlyStopError(
      `The orderly shutdown failed at ${next?.join(', ') ?? 'a group'}: ${error instanceof Error ? error.message : String(error)}. Nothing was switched.`,
      stopped,
      { cause: error },
    );
  }
  return stopped;
}
