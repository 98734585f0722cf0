/**
 * When the swarm's reading says a stack converged on a release, still waits, or failed (naming the
 * service and the swarm's error), from readings as scripts/swarm-status.sh prints them.
 */
import { describe, expect, it } from 'vitest';
import { formatRecord } from '@titan/host/host-record';
import { judgeConvergence } from '@titan/swarm/convergence';
import { containerHealth, parseSwarmStatus } from '@titan/swarm/swarm-status';

const IMAGE = '127.0.0.1:5000/titan/x@sha256:' + 'a'.repeat(64);
const target = { stack: 's', releaseId: 'r2', images: new Map([['x', IMAGE]]), since: 1000 };

function reading(lines: string[][]): string {
  return [formatRecord('swarm', 'active', 'true'), formatRecord('now', '1010'), ...lines.map(([kind = '', ...values]) => formatRecord(kind, ...values))].join('\n');
}

const service = (update = 'none', started = '0', message = ''): string[] => ['service', 'sid', 's_x', IMAGE, '1', update, started, message];
const task = (id: string, release: string, desired: string, state: string, created: string, error = ''): string[] => ['task', id, 'sid', IMAGE, release, desired, state, created, `c-${id}`, error];
const container = (taskId: string, status: string): string[] => ['container', `c-${taskId}`, taskId, status];

describe('judgeConvergence', () => {
  it('converged: the task of this release running and healthy, no update running', () => {
    const status = parseSwarmStatus(reading([service('completed', '1001'), task('t1', 'r2', 'running', 'running', '1002'), container('t1', 'Up 9 seconds (healthy)'), task('t0', 'r1', 'shutdown', 'shutdown', '900')]));
    expect(judgeConvergence(status, target)).toEqual({ state: 'converged', services: [{ service: 'x', image: IMAGE, running: 1, wanted: 1, waiting: undefined }] });
  });

  it('waits while the container is still starting its health, while an older task runs, and during the update', () => {
    const starting = parseSwarmStatus(reading([service('updating', '1001'), task('t1', 'r2', 'running', 'starting', '1002'), container('t1', 'Up 1 second (health: starting)')]));
    const judged = judgeConvergence(starting, target);
    expect(judged.state).toBe('waiting');
    expect(judged.services[0]?.waiting).toBe('0 of 1 task(s) of this release running and healthy (starting, Up 1 second (health: starting))');
    const older = parseSwarmStatus(reading([service('updating', '1001'), task('t0', 'r1', 'running', 'running', '900'), container('t0', 'Up 2 hours (healthy)')]));
    expect(judgeConvergence(older, target).state).toBe('waiting');
    const monitoring = parseSwarmStatus(reading([service('updating', '1001'), task('t1', 'r2', 'running', 'running', '1002'), container('t1', 'Up 3 seconds (healthy)')]));
    expect(judgeConvergence(monitoring, target)).toMatchObject({ state: 'waiting', services: [{ waiting: 'its update is still in progress (the monitor window)' }] });
  });

  it('fails on a task of this release that failed since the deploy began, naming the service and its error', () => {
    const status = parseSwarmStatus(reading([service('updating', '1001'), task('t1', 'r2', 'shutdown', 'failed', '1002', 'task: non-zero exit (137): dockerexec: unhealthy container'), task('t2', 'r2', 'running', 'starting', '1008')]));
    expect(judgeConvergence(status, target)).toMatchObject({ state: 'failed', service: 'x', reason: 'task t1 failed: task: non-zero exit (137): dockerexec: unhealthy container' });
  });

  it('an old failure or a paused update from before the deploy is history; a paused update since is a failure', () => {
    const old = parseSwarmStatus(reading([service('paused', '950', 'update paused due to failure'), task('t0', 'r2', 'shutdown', 'failed', '960', 'old'), task('t1', 'r2', 'running', 'running', '1003'), container('t1', 'Up 5 seconds')]));
    expect(judgeConvergence(old, target).state).toBe('converged');
    const paused = parseSwarmStatus(reading([service('paused', '1001', 'update paused due to failure or early termination of task t9')]));
    expect(judgeConvergence(paused, target)).toMatchObject({ state: 'failed', service: 'x', reason: 'the swarm paused its update: update paused due to failure or early termination of task t9' });
  });

  it('a spec that runs another image than the release is a failure; a service not created yet is waited for', () => {
    const other = parseSwarmStatus(reading([['service', 'sid', 's_x', 'evil/x:latest', '1', 'none', '0', '']]));
    expect(judgeConvergence(other, target)).toMatchObject({ state: 'failed', reason: `its spec runs image evil/x:latest, not the release's ${IMAGE}: something else changed the service` });
    expect(judgeConvergence(parseSwarmStatus(reading([])), target)).toMatchObject({ state: 'waiting', services: [{ waiting: 'the service is not created yet' }] });
  });

  it('reads the swarm state and the health in a container status', () => {
    expect(parseSwarmStatus(`${formatRecord('swarm', 'inactive', 'false')}\n${formatRecord('now', '5')}`)).toMatchObject({ swarm: 'inactive', manager: false, now: 5, services: [] });
    expect(['Up 2 seconds (healthy)', 'Up 1 second (health: starting)', 'Up 9 seconds (unhealthy)', 'Up 3 minutes'].map(containerHealth)).toEqual(['healthy', 'starting', 'unhealthy', 'none']);
  });
});
