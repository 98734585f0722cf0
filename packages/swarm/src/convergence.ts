/**
 * When a stack has converged on a release, judged from one reading of the swarm (swarm-status.ts):
 * every service of the release exists with the release's pinned image as its spec, its update is
 * not running (none or completed), and it has as many tasks Running as it asks for, each of this
 * release (its container's `titan.release` label) and image, each container healthy (or without a
 * healthcheck). A task of this release that Failed or was Rejected since the deploy began, or an
 * update the swarm paused or rolled back, is a failure naming the service and the swarm's error:
 * a release that never gets healthy fails as soon as the swarm gives up on its first task, not at
 * the timeout.
 */
import { containerHealth, type SwarmStatus, type SwarmTask } from './swarm-status.js';

export interface ConvergenceTarget {
  readonly stack: string;
  readonly releaseId: string;
  /** Compose service -> the pinned image reference the release runs (`repo@sha256:...`). */
  readonly images: ReadonlyMap<string, string>;
  /** Host clock (epoch seconds) before the stack deploy: older tasks and updates are history. */
  readonly since: number;
}

export interface ServiceConvergence {
  readonly service: string;
  readonly image: string;
  /** Tasks of this release running (healthy when they have a healthcheck). */
  readonly running: number;
  /** Tasks asked for (1 for a global service on this one-engine reading). */
  readonly wanted: number;
  /** What it still waits for, or undefined once it converged. */
  readonly waiting: string | undefined;
}

export type Convergence =
  | { readonly state: 'converged'; readonly services: readonly ServiceConvergence[] }
  | { readonly state: 'waiting'; readonly services: readonly ServiceConvergence[] }
  | { readonly state: 'failed'; readonly services: readonly ServiceConvergence[]; readonly service: string; readonly reason: string };

const FAILED_TASK_STATES = new Set(['failed', 'rejected']);
const STOPPED_UPDATE_STATES = new Set(['paused', 'rollback_started', 'rollback_paused', 'rollback_completed']);

export function judgeConvergence(status: SwarmStatus, target: ConvergenceTarget): Convergence {
  const services: ServiceConvergence[] = [];
  for (const [service, image] of [...target.images].sort(([a], [b]) => a.localeCompare(b))) {
    const spec = status.services.find((s) => s.name === `${target.stack}_${service}`);
    if (spec === undefined) {
      services.push({ service, image, running: 0, wanted: 1, waiting: 'the service is not created yet' });
      continue;
    }
    if (spec.image !== image) {
      return failed(services, service, `its spec runs image ${spec.image}, not the release's ${image}: something else changed the service`);
    }
    const tasks = status.tasks.filter((t) => t.serviceId === spec.id);
    const failedTask = tasks
      .filter((t) => t.release === target.releaseId && t.created >= target.since && FAILED_TASK_STATES.has(t.state))
      .sort((a, b) => b.created - a.created)[0];
    if (failedTask !== undefined) {
      return failed(services, service, `task ${failedTask.id.slice(0, 12)} ${failedTask.state}: ${failedTask.error || 'the swarm gave no error'}`);
    }
    const current = spec.updateStarted >= target.since;
    if (current && STOPPED_UPDATE_STATES.has(spec.updateState)) {
      return failed(services, service, `the swarm ${spec.updateState.replace('_', ' ')} its update: ${spec.updateMessage || 'no message'}${lastError(tasks)}`);
    }
    const wanted = spec.replicas ?? Math.max(1, tasks.filter((t) => t.desired === 'running').length);
    const ready = tasks.filter((t) => t.desired === 'running' && t.state === 'running' && t.release === target.releaseId && t.image === image && healthy(status, t));
    let waiting: string | undefined;
    if (ready.length < wanted) waiting = `${ready.length} of ${wanted} task(s) of this release running and healthy${taskStates(status, tasks, target.releaseId)}`;
    else if (tasks.some((t) => t.desired === 'running' && !ready.includes(t))) waiting = 'an older task is still running';
    else if (current && spec.updateState === 'updating') waiting = 'its update is still in progress (the monitor window)';
    services.push({ service, image, running: ready.length, wanted, waiting });
  }
  return { state: services.every((s) => s.waiting === undefined) ? 'converged' : 'waiting', services };
}

function failed(services: ServiceConvergence[], service: string, reason: string): Convergence {
  return { state: 'failed', services, service, reason };
}

function healthy(status: SwarmStatus, task: SwarmTask): boolean {
  const container = status.containers.find((c) => c.task === task.id);
  if (container === undefined) return false;
  const health = containerHealth(container.status);
  return health === 'healthy' || health === 'none';
}

function taskStates(status: SwarmStatus, tasks: readonly SwarmTask[], releaseId: string): string {
  const mine = tasks.filter((t) => t.release === releaseId && t.desired === 'running');
  if (mine.length === 0) return '';
  const states = mine.map((t) => {
    const container = status.containers.find((c) => c.task === t.id);
    return container === undefined ? t.state : `${t.state}, ${container.status}`;
  });
  return ` (${states.join('; ')})`;
}

function lastError(tasks: readonly SwarmTask[]): string {
  const withError = tasks.filter((t) => t.error !== '').sort((a, b) => b.created - a.created)[0];
  return withError === undefined ? '' : `; last task error: ${withError.error}`;
}

/** The services not yet converged, one phrase each. */
export function describeWaiting(convergence: Convergence): string {
  const waiting = convergence.services.filter((s) => s.waiting !== undefined);
  return waiting.map((s) => `${s.service}: ${s.waiting ?? ''}`).join('; ');
}

