/**
 * target: swarm on a real single-node swarm: the test host's engine made a swarm manager for this
 * file (swarm init in the set-up; in the teardown the stack removed, the swarm left and its networks
 * gone, so the Compose tests after it see the engine as it was). The committed bundles of
 * action-deploy, action-verify and action-rollback run as a runner runs them, with target: swarm:
 *  - a signed release deployed as a stack: every service converged, the digests pinned in the
 *    services' specs and in the running containers, current switched, the outputs and summary;
 *  - action-verify passes on it;
 *  - tampered or unsigned bundles refused on the manager before anything changes (and on the
 *    runner when it has the public key);
 *  - releases that fail (a healthcheck that never passes, a service that exits at start) returned
 *    to the previous release automatically, the failure named;
 *  - action-rollback returning the stack to the previous good release, verified again after.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKey } from '@titan/release/release-key';
import { signManifest } from '@titan/release/manifest-signature';
import { appDirListing, currentOf, journalOf, productionValues, testHost } from '../../deploy/test/support/host-fixture.js';
import { buildVariant } from '../../deploy/test/support/test-releases.js';
import {
  appDir,
  cleanUp,
  deploySwarmRun,
  initSwarm,
  networkNames,
  runningTasks,
  runsRelease,
  runSwarmAction,
  SERVICES,
  serviceImages,
  signSwarmRelease,
  STACK,
  stackLeftovers,
  stackServices,
  swarmState,
  type SwarmRelease,
} from './support/swarm-stack.js';

/** What a person sees of the output: the runner consumes `::add-mask::` commands and never shows them. */
function visible(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

function shortDigest(reference: string): string {
  const at = reference.indexOf('@sha256:');
  return `${reference.slice(reference.lastIndexOf('/', at) + 1, at)}@sha256:${reference.slice(at + 8, at + 20)}`;
}

let networksBefore: string[];
let first: SwarmRelease;
let second: SwarmRelease;
let broken: SwarmRelease;
let exiting: SwarmRelease;

beforeAll(async () => {
  initSwarm();
  // The networks the engine had before this file (the swarm's own, ingress and docker_gwbridge, aside).
  networksBefore = networkNames().filter((n) => n !== 'ingress' && n !== 'docker_gwbridge');
  const variant = buildVariant('titan-hunter', 'swarm-2');
  const brokenImage = buildVariant('titan-hunter', 'swarm-broken', { BROKEN: '1' });
  first = await signSwarmRelease();
  second = await signSwarmRelease({ hunterDigest: variant });
  broken = await signSwarmRelease({ hunterDigest: brokenImage });
  exiting = await signSwarmRelease({ hunterPort: 'not-a-port' });
});

afterAll(() => {
  cleanUp();
  // Nothing of the swarm is left for the Compose tests that run after this file.
  expect(swarmState()).toBe('inactive');
  expect(stackLeftovers()).toEqual({ services: [], containers: [], networks: [] });
  expect(networkNames()).toEqual(networksBefore);
});

describe('target: swarm on a single-node swarm', () => {
  it('deploys the signed bundle as a stack: every service converged, digests pinned in the services and their containers, current switched, outputs and summary', async () => {
    const secrets = productionValues(appDir);
    expect(secrets.length).toBeGreaterThan(10);
    const run = await deploySwarmRun(first.dir, { 'public-key': testHost.releasePublicKey });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs).toEqual({ 'release-id': first.id, 'previous-release-id': '', result: 'deployed', 'rolled-back': 'false' });
    expect(currentOf(appDir)).toBe(`releases/${first.id}`);

    // The services' specs run exactly the signed digests (no tag, nothing resolved by the swarm).
    expect(serviceImages()).toEqual(first.images);
    for (const service of SERVICES) expect(first.images[service]).toMatch(/^127\.0\.0\.1:\d+\/titan\/[a-z0-9-]+@sha256:[0-9a-f]{64}$/);
    expect(runsRelease(first), JSON.stringify(runningTasks())).toBe(true);
    expect(runningTasks()['titan-hunter']?.[0]?.env['TITAN_MODE']).toBe('DISARMED');

    expect(run.stdout).toContain('verified on the runner');
    expect(run.stdout).toContain(`The host verified release ${first.id} against its trusted key`);
    expect(run.stdout).toMatch(new RegExp(`Stack ${STACK} converged on release ${first.id}: prometheus 1/1, titan-hunter 1/1`));
    expect(run.summary).toContain(`Deployed to the swarm: release ${first.id} as stack ${STACK}`);
    expect(run.summary).toContain('Mode: **DISARMED**');
    for (const service of SERVICES) expect(run.summary).toContain(`| ${service} | ${shortDigest(first.images[service] ?? '')} | 1/1 | converged |`);
    expect(existsSync(join(appDir, 'state', `${first.id}.confirmed`))).toBe(true);
    expect(journalOf(appDir).at(-1)).toMatchObject({ action: 'deploy', target: 'swarm', result: 'deployed', release: first.id, previous: null, actor: 'swarm-tester' });

    const journal = readFileSync(join(appDir, 'journal.jsonl'), 'utf8');
    for (const value of secrets) {
      expect(visible(run.stdout)).not.toContain(value);
      expect(run.stderr).not.toContain(value);
      expect(run.summary).not.toContain(value);
      expect(journal).not.toContain(value);
    }
  });

  it('action-verify passes: the current release verified again on the host, every service on its digest, converged and healthy', async () => {
    const run = await runSwarmAction('action-verify');
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['healthy']).toBe('true');
    expect(run.stdout).toContain(`Release ${first.id} (current) verifies again on the host.`);
    expect(run.summary).toContain(`Verified: swarm stack ${STACK}`);
    for (const service of SERVICES) expect(run.summary).toContain(`| ${service} | ${first.images[service] ?? '?'} | 1/1 | converged |`);
  });

  describe('a tampered or unsigned bundle is refused on the manager before anything changes', () => {
    const tampers: [string, (dir: string) => void][] = [
      [
        'a compose file changed after signing',
        (dir) => {
          const file = join(dir, 'docker-compose.yml');
          writeFileSync(file, readFileSync(file, 'utf8').replace('TITAN_MODE: ${TITAN_MODE:-DISARMED}', 'TITAN_MODE: ARMED'));
        },
      ],
      ['no signature', (dir) => rmSync(join(dir, 'manifest.sig'))],
      ['a signature by a key the host does not trust', (dir) => writeFileSync(join(dir, 'manifest.sig'), signManifest(readFileSync(join(dir, 'manifest.json')), generateReleaseKey()))],
    ];
    for (const [what, tamper] of tampers) {
      it(what, async () => {
        const release = await signSwarmRelease();
        tamper(release.dir);
        const listing = appDirListing(appDir);
        const services = stackServices();
        // No public key on the runner: the manager's own check is what refuses it.
        const run = await deploySwarmRun(release.dir);
        expect(run.status).toBe(1);
        expect(run.outputs['result']).toBe('failed');
        expect(run.stdout).toMatch(new RegExp(`::error::The host 127\\.0\\.0\\.1 refused release ${release.id}: .+ The uploaded copy was removed`));
        expect(run.summary).toContain('unchanged: the deploy was refused before it changed anything');
        expect(run.stdout).not.toContain('docker stack deploy');
        expect(appDirListing(appDir)).toEqual(listing);
        expect(existsSync(join(appDir, 'releases', release.id))).toBe(false);
        expect(stackServices()).toEqual(services);
        expect(runsRelease(first)).toBe(true);
      });
    }

    it('and on the runner, before connecting, when it has the public key', async () => {
      const release = await signSwarmRelease();
      rmSync(join(release.dir, 'manifest.sig'));
      const listing = appDirListing(appDir);
      const run = await deploySwarmRun(release.dir, { 'public-key': testHost.releasePublicKey });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain(`does not verify against public-key on the runner`);
      expect(run.stdout).toContain('Nothing was sent to 127.0.0.1.');
      expect(appDirListing(appDir)).toEqual(listing);
      expect(runsRelease(first)).toBe(true);
    });
  });

  const failures: [string, () => SwarmRelease, RegExp][] = [
    ['a service whose healthcheck never passes', () => broken, /task [0-9a-z]{12} (failed|rejected): .*unhealthy/],
    ['a service that exits at start', () => exiting, /task [0-9a-z]{12} (failed|rejected): .*non-zero exit \(64\)/],
  ];
  for (const [what, release, reason] of failures) {
    it(`a release with ${what} is returned to the previous release: the services run its digests again, the failure named`, async () => {
      const failing = release();
      const run = await deploySwarmRun(failing.dir, { 'public-key': testHost.releasePublicKey });
      expect(run.status).toBe(1);
      expect(run.outputs).toMatchObject({ result: 'rolled-back', 'rolled-back': 'true', 'release-id': failing.id, 'previous-release-id': first.id });
      const failure = new RegExp(`Service titan-hunter of stack ${STACK} failed on release ${failing.id}: ${reason.source}`);
      expect(run.stdout).toMatch(new RegExp(`::error::${failure.source}`));
      expect(run.summary).toMatch(failure);
      expect(run.summary).toContain(`Rolled back on the swarm: release ${failing.id}`);
      expect(run.summary).toContain(`Stack ${STACK} runs release ${first.id} again (DISARMED), converged and healthy`);
      expect(run.summary).toContain(`Services after the return to ${first.id}`);

      expect(currentOf(appDir)).toBe(`releases/${first.id}`);
      expect(serviceImages()).toEqual(first.images);
      expect(runsRelease(first), JSON.stringify(runningTasks())).toBe(true);
      expect(existsSync(join(appDir, 'state', `${failing.id}.bad`))).toBe(true);
      expect(journalOf(appDir).at(-1)).toMatchObject({ action: 'deploy', target: 'swarm', result: 'rolled-back', release: failing.id, previous: first.id, mode: 'DISARMED' });
    });
  }

  it('action-rollback returns the stack to the previous good release, and verify passes on it', async () => {
    const deployed = await deploySwarmRun(second.dir, { 'public-key': testHost.releasePublicKey });
    expect(deployed.status, deployed.log).toBe(0);
    expect(deployed.outputs).toMatchObject({ result: 'deployed', 'release-id': second.id, 'previous-release-id': first.id });
    expect(serviceImages()).toEqual(second.images);
    expect(second.images['titan-hunter']).not.toBe(first.images['titan-hunter']);
    expect(runsRelease(second), JSON.stringify(runningTasks())).toBe(true);

    const run = await runSwarmAction('action-rollback', { reason: 'swarm rollback test' });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('rolled-back');
    expect(run.outputs['release-id']).toBe(first.id);
    expect(run.summary).toContain(`Rolled back on the swarm: stack ${STACK}`);
    expect(currentOf(appDir)).toBe(`releases/${first.id}`);
    expect(serviceImages()).toEqual(first.images);
    expect(runsRelease(first), JSON.stringify(runningTasks())).toBe(true);
    expect(existsSync(join(appDir, 'state', `${second.id}.bad`))).toBe(true);
    expect(journalOf(appDir).at(-1)).toMatchObject({ action: 'rollback', target: 'swarm', result: 'rolled-back', release: first.id, previous: second.id, to: first.id, reason: 'swarm rollback test' });

    const verify = await runSwarmAction('action-verify');
    expect(verify.status, verify.log).toBe(0);
    expect(verify.outputs['healthy']).toBe('true');
  });

  it('verify fails, naming the service, when the stack was changed behind the suite', async () => {
    const service = `${STACK}_prometheus`;
    execFileSync('docker', ['service', 'update', '--quiet', '--container-label-add', `titan.release=${second.id}`, service]);
    const verify = await runSwarmAction('action-verify', { timeout: '5' });
    expect(verify.status).toBe(1);
    expect(verify.outputs['healthy']).toBe('false');
    expect(verify.stdout).toContain(`Stack ${STACK} did not converge on release ${first.id} within 5 s (timeout): prometheus: 0 of 1 task(s) of this release running and healthy`);
  });
});
