/**
 * target: swarm on a real single-node swarm (the test host's engine, swarm init in the set-up and
 * left in the teardown): a release deployed as a stack that converges (current, the services'
 * images are the manifest's digests, the summary), a release whose task never gets healthy returned
 * to the previous one, and a release with a port on a host IP refused before anything changed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDir, cleanUp, currentRelease, deploySwarmRun, host, initSwarm, journal, prepareAppDir, runningReleases, serviceImages, signSwarmRelease, STACK } from './support/swarm-stack.js';

let first: { dir: string; id: string };

beforeAll(async () => {
  initSwarm();
  prepareAppDir();
  first = await signSwarmRelease();
});

afterAll(() => cleanUp());

describe('action-deploy with target: swarm', () => {
  it('deploys the verified bundle as a stack that converges: digests pinned, current switched, the summary', async () => {
    const run = await deploySwarmRun(first.dir);
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('deployed');
    expect(run.outputs['release-id']).toBe(first.id);
    expect(currentRelease()).toBe(`releases/${first.id}`);
    expect(serviceImages()).toEqual({ 'titan-execution': host.images['titan-execution'], prometheus: host.images['prometheus'] });
    const running = runningReleases();
    expect(running['titan-execution']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(running['prometheus']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(run.summary).toContain(`Deployed to the swarm: release ${first.id} as stack ${STACK}`);
    expect(run.summary).toMatch(/\| titan-execution \| titan-execution-rs@sha256:[0-9a-f]{12} \| 1\/1 \| converged \|/);
    expect(existsSync(join(appDir, 'state', `${first.id}.confirmed`))).toBe(true);
    expect(journal().at(-1)).toMatchObject({ action: 'deploy', target: 'swarm', result: 'deployed', release: first.id, previous: null });
  });

  it('refuses a release that publishes a port on a host IP before anything changes', async () => {
    const bad = await signSwarmRelease({ hostIpPort: true });
    const lines = journal().length;
    const run = await deploySwarmRun(bad.dir);
    expect(run.status).not.toBe(0);
    expect(run.outputs['result']).toBe('failed');
    expect(run.log).toContain(`Release ${bad.id} cannot run on the swarm as it was signed; nothing was changed`);
    expect(run.log).toContain('titan-execution (docker-compose.yml): port "127.0.0.1:43002:3002" is published on host IP 127.0.0.1');
    expect(existsSync(join(appDir, 'releases', bad.id))).toBe(false);
    expect(currentRelease()).toBe(`releases/${first.id}`);
    expect(journal()).toHaveLength(lines);
    expect(runningReleases()['titan-execution']).toEqual([expect.stringMatching(new RegExp(`^${first.id} `))]);
  });

  it('returns the stack to the previous release when a task of the new one never gets healthy', async () => {
    const failing = await signSwarmRelease({ failing: true });
    const run = await deploySwarmRun(failing.dir);
    expect(run.status).not.toBe(0);
    expect(run.outputs['result']).toBe('rolled-back');
    expect(run.outputs['rolled-back']).toBe('true');
    expect(run.log).toMatch(new RegExp(`Service titan-execution of stack ${STACK} failed on release ${failing.id}: task [0-9a-z]{12} failed: .*unhealthy`));
    expect(currentRelease()).toBe(`releases/${first.id}`);
    const running = runningReleases();
    expect(running['titan-execution']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(running['prometheus']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(existsSync(join(appDir, 'state', `${failing.id}.bad`))).toBe(true);
    expect(run.summary).toContain(`Services after the return to ${first.id}`);
    expect(journal().at(-1)).toMatchObject({ action: 'deploy', target: 'swarm', result: 'rolled-back', release: failing.id, previous: first.id, mode: 'DISARMED' });
  });
});
