/**
 * What the swarm says of a stack, read on the manager in one host script (scripts/swarm-status.sh):
 * the engine's swarm state, the host's clock, each service of the stack (its spec image, replicas,
 * update status), each task (desired and current state, image, when it was created, its error) and
 * each task's container (docker ps's status, which carries the health: `Up 8 seconds (healthy)`).
 * Nothing is changed.
 */
import type { HostLayout } from '@titan/host/host-layout';
import { recordsOf, lastRecord } from '@titan/host/host-record';
import { runHostScript } from '@titan/host/host-script';
import type { SshConnection } from '@titan/ssh/connection';

export interface SwarmService {
  readonly id: string;
  /** `<stack>_<compose service>`. */
  readonly name: string;
  readonly image: string;
  /** Replicas asked for; undefined for a global service. */
  readonly replicas: number | undefined;
  /** The update status: `none` right after a create, else updating, completed, paused, rollback_*. */
  readonly updateState: string;
  /** When that update started, epoch seconds (0 when there was none). */
  readonly updateStarted: number;
  readonly updateMessage: string;
}

export interface SwarmTask {
  readonly id: string;
  readonly serviceId: string;
  readonly image: string;
  /** The `titan.release` label of its container spec: the release it runs ('-' when none). */
  readonly release: string;
  /** running, shutdown, ... (lower case, as the swarm says it). */
  readonly desired: string;
  /** new, pending, assigned, preparing, starting, running, complete, shutdown, failed, rejected, orphaned, remove. */
  readonly state: string;
  /** Epoch seconds. */
  readonly created: number;
  /** '-' while it has none. */
  readonly container: string;
  readonly error: string;
}

export interface SwarmContainer {
  readonly id: string;
  readonly task: string;
  readonly status: string;
}

export interface SwarmStatus {
  /** active, inactive, pending, error, locked. */
  readonly swarm: string;
  /** This engine is a manager (it can deploy a stack). */
  readonly manager: boolean;
  /** The host's clock, epoch seconds. */
  readonly now: number;
  readonly services: readonly SwarmService[];
  readonly tasks: readonly SwarmTask[];
  readonly containers: readonly SwarmContainer[];
}

export async function readSwarmStatus(connection: SshConnection, layout: HostLayout, stack: string): Promise<SwarmStatus> {
  const { stdout } = await runHostScript(connection, layout, 'titan-swarm-status', [stack], { timeoutMs: 60_000 });
  return parseSwarmStatus(stdout);
}

export function parseSwarmStatus(stdout: string): SwarmStatus {
  const swarm = lastRecord(stdout, 'swarm') ?? [];
  const now = Number(lastRecord(stdout, 'now')?.[0] ?? NaN);
  return {
    swarm: swarm[0] ?? 'unknown',
    manager: swarm[1] === 'true',
    now,
    services: recordsOf(stdout, 'service').map(([id = '', name = '', image = '', replicas = '', updateState = '', updateStarted = '', updateMessage = '']) => ({
      id,
      name,
      image,
      replicas: replicas === 'global' ? undefined : Number(replicas),
      updateState,
      updateStarted: Number(updateStarted),
      updateMessage,
    })),
    tasks: recordsOf(stdout, 'task').map(([id = '', serviceId = '', image = '', release = '', desired = '', state = '', created = '', container = '', error = '']) => ({
      id,
      serviceId,
      image,
      release,
      desired,
      state,
      created: Number(created),
      container,
      error,
    })),
    containers: recordsOf(stdout, 'container').map(([id = '', task = '', status = '']) => ({ id, task, status })),
  };
}

/** The health a container's status says: healthy, unhealthy, starting, or none (no healthcheck). */
export function containerHealth(status: string): 'healthy' | 'unhealthy' | 'starting' | 'none' {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

/** The compose service name of a stack service (`<stack>_<service>`). */
export function composeServiceOf(stack: string, serviceName: string): string {
  return serviceName.startsWith(`${stack}_`) ? serviceName.slice(stack.length + 1) : serviceName;
}
