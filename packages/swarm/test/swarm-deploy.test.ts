/**
 * target: swarm on a real single-node swarm (the test host's engine, swarm init in the set-up and
 * left in the teardown): a release deployed as a stack that converges (current, the services'
 * images are the manifest's digests, the summary), a release whose task never gets healthy returned
 * to the previous one, a release with a port on a host IP refused before anything changed, then
 * action-verify and action-rollback with target: swarm over the same stack (one swarm for the file).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDir, cleanUp, currentRelease, deploySwarmRun, host, initSwarm, journal, prepareAppDir, runningReleases, runSwarmAction, serviceImages, signSwarmRelease, STACK } from './support/swarm-stack.js';

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

  it('action-verify says the current release runs converged and healthy on the swarm', async () => {
    const run = await runSwarmAction('action-verify', { timeout: '60' });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['healthy']).toBe('true');
    expect(run.summary).toContain(`Verified: swarm stack ${STACK}`);
    expect(run.summary).toContain(`| titan-execution | ${host.images['titan-execution'] ?? '?'} | 1/1 | converged |`);
  });

  it('action-rollback returns the stack to the previous verified release, then verify refuses a task that is not of current', async () => {
    const second = await signSwarmRelease();
    const deployed = await deploySwarmRun(second.dir);
    expect(deployed.outputs['result'], deployed.log).toBe('deployed');
    expect(runningReleases()['titan-execution']).toEqual([expect.stringMatching(new RegExp(`^${second.id} Up .*\\(healthy\\)$`))]);

    const run = await runSwarmAction('action-rollback', { reason: 'swarm rollback test' });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('rolled-back');
    expect(run.outputs['release-id']).toBe(first.id);
    expect(currentRelease()).toBe(`releases/${first.id}`);
    const running = runningReleases();
    expect(running['titan-execution']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(running['prometheus']).toEqual([expect.stringMatching(new RegExp(`^${first.id} Up .*\\(healthy\\)$`))]);
    expect(existsSync(join(appDir, 'state', `${second.id}.bad`))).toBe(true);
    expect(run.summary).toContain(`Rolled back on the swarm: stack ${STACK}`);
    expect(journal().at(-1)).toMatchObject({ action: 'rollback', target: 'swarm', result: 'rolled-back', release: first.id, previous: second.id, to: first.id, reason: 'swarm rollback test' });

    // Someone changes the stack behind the suite's back: verify says so, naming the service.
    execFileSync('docker', ['service', 'update', '--detach', '--container-label-add', `titan.release=${second.id}`, `${STACK}_prometheus`]);
    for (let i = 0; !/^\S+ Up .*\(healthy\)$/.test(runningReleases()['prometheus']?.join(',') ?? '') || !(runningReleases()['prometheus']?.[0] ?? '').startsWith(second.id); i += 1) {
      if (i > 120) throw new Error(`prometheus did not take the changed label: ${JSON.stringify(runningReleases())}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const verify = await runSwarmAction('action-verify', { timeout: '10' });
    expect(verify.status).not.toBe(0);
    expect(verify.outputs['healthy']).toBe('false');
    expect(verify.log).toContain(`Stack ${STACK} did not converge on release ${first.id} within 10 s (health-timeout): prometheus: 0 of 1 task(s) of this release running and healthy`);
  });
});
