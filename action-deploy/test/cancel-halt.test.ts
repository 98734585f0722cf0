/**
 * A cancelled deploy leaves the host as safe as a finished one, and an operator's halt wins over
 * everything automatic. action-deploy's and action-rollback's committed bundles run as a runner
 * runs them against a stack of this file's own on the real test host:
 *  - GitHub's cancellation (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after) sent as each phase of
 *    a deploy begins (a deploy that changes titan-hunter and has a slow migration pending): the run
 *    ends within that window, writes its journal line and summary, and the host converges to the old
 *    or the new release, every service healthy, the lock free;
 *  - a HARD_HALT (action-rollback mode halt) while a deploy pulls (the registry frozen to hold it
 *    there): the deploy neither arms nor starts anything; a halted host refuses a deploy unless it
 *    lifts the halt;
 *  - a guard waiting for a frozen deploy, then action-rollback mode stop: nothing restarts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDeployLock } from '@titan/host/deploy-lock';
import { HostLayout } from '@titan/host/host-layout';
import { appDirListing, bringDown, connectToHost, containerIds, containerStates, eventually, health, testHost } from '../../packages/deploy/test/support/host-fixture.js';
import { buildVariant, copyExample, signTestRelease } from '../../packages/deploy/test/support/test-releases.js';
import { cancelAsGitHubDoes } from '@titan/test-host/action-run';
import { lifeStack, registryPid, TRADING, waitForPhase, watchEvents } from './support/life-stack.js';

const stack = lifeStack('deploy-cancel');
const { project, appDir } = stack;
const hunters: string[] = [];
let source = '';

/** Phases of a deploy that stops titan-hunter and has a migration pending, in order. */
const PHASES = ['lock', 'inspect', 'install', 'plan', 'pull', 'migrations-check', 'guard', 'stop', 'migrate', 'switch', 'start', 'verify', 'confirm'];

async function changingRelease(): Promise<{ dir: string; id: string; hunter: string }> {
  const running = stack.imageOf('titan-hunter');
  const hunter = hunters.find((d) => !running.endsWith(d)) ?? '';
  const signed = await signTestRelease({ source, digests: { 'titan-hunter': hunter } });
  return { dir: signed.dir, id: signed.manifest.releaseId, hunter };
}

function guardLeft(): boolean {
  return existsSync(join(appDir, 'state')) && readdirSync(join(appDir, 'state')).some((f) => /^guard-.+\.json$/.test(f));
}

/** What a failed expectation shows: the run's log (no debug lines), the journal, the guard's log, the containers. */
function diagnostics(log: string, release: string): string {
  const guardLog = join(appDir, 'state', `guard-${release}.log`);
  return [
    log.split('\n').filter((l) => !l.startsWith('::debug::') && !l.startsWith('::add-mask::')).join('\n'),
    `journal: ${JSON.stringify(stack.journal())}`,
    `guard: ${existsSync(guardLog) ? readFileSync(guardLog, 'utf8') : '(none)'}`,
    `containers: ${JSON.stringify(containerStates(project))}; lock free: ${String(stack.lockFree())}; current: ${stack.current() ?? '(none)'}`,
  ].join('\n');
}

function hunterReference(digest: string): string {
  return `${testHost.imagePrefix}/titan-phase2-hunter@${digest}`;
}

describe('a cancelled deploy, and an operator halt', () => {
  beforeAll(async () => {
    bringDown(project, appDir);
    source = copyExample();
    // Pending in every release until one gets past its migrations: a migration long enough to be cancelled in.
    writeFileSync(join(source, 'migrations', '0004_slow_statistics.sql'), '-- 0004: takes a while\nSELECT pg_sleep(3);\nCREATE TABLE desk_statistics (id bigint PRIMARY KEY);\n');
    hunters.push(buildVariant('titan-hunter', 'cancel-a'), buildVariant('titan-hunter', 'cancel-b'));
    const first = await signTestRelease();
    const run = await stack.deploy(first.dir);
    if (run.status !== 0) throw new Error(`the first deploy failed:\n${run.log}`);
  });

  afterAll(() => {
    bringDown(project, appDir);
  });

  const landed: string[] = [];
  for (const [index, phase] of PHASES.entries()) {
    it(`SIGINT as ${phase} begins: the run ends within GitHub's window, journal line and summary written; the host converges, healthy, lock free`, async () => {
      const before = stack.current();
      const release = await changingRelease();
      let holding: { release(): Promise<void> } | undefined;
      const { connection, logger } = await connectToHost();
      try {
        if (phase === 'lock') {
          // Another deploy holds the lock: this one is cancelled while it waits.
          holding = await acquireDeployLock(connection, {
            layout: new HostLayout(appDir),
            holder: { runUrl: 'https://github.com/titan/titan/actions/runs/1', release: 'another deploy', actor: 'someone' },
            timeoutSeconds: 5,
            logger,
          });
        }
        if (phase === 'pull') execFileSync('docker', ['rmi', '-f', hunterReference(release.hunter)], { stdio: 'ignore' });
        const running = await stack.startDeploy(release.dir, {}, String(8200 + index));
        expect(await waitForPhase(running, phase), running.log()).toBe(true);
        const { run, endedAfterMs, killed } = await cancelAsGitHubDoes(running);
        await holding?.release();
        expect(killed, run.log).toBe(false);
        expect(endedAfterMs).toBeLessThan(10_000);
        const result = run.outputs['result'];
        const line = stack.journal().findLast((e) => e['action'] === 'deploy' && e['release'] === release.id);
        const at = typeof line?.['phase'] === 'string' ? line['phase'] : 'confirm';
        if (result === 'deployed') {
          // The confirmation was written before the cancellation arrived: the new release stands.
          expect(run.status).toBe(0);
          expect(stack.current()).toBe(release.id);
          landed.push(`${phase}: after the confirmation`);
        } else {
          expect(result, run.log).toBe('cancelled');
          expect(run.status).toBe(1);
          expect(run.stdout).toMatch(/::error::The run was cancelled \(SIGINT\) during /);
          expect(run.summary).toContain(`⏹️ Deploy cancelled: release ${release.id}`);
          expect(run.summary).toContain('**host now**');
          expect(line).toMatchObject({ result: 'cancelled', actor: 'life-tester' });
          expect(PHASES.indexOf(at), `cancelled during ${at}`).toBeGreaterThanOrEqual(index);
          landed.push(`${phase}: ${at}`);
        }
        // Converged: the lock free, no guard left waiting or acting, every service healthy.
        const converged = await eventually(async () => stack.lockFree() && !guardLeft() && (await stack.healthy()), 60_000, 500);
        expect(converged, diagnostics(run.log, release.id)).toBe(true);
        const now = stack.current();
        expect([before, release.id]).toContain(now);
        if (PHASES.indexOf(at) < PHASES.indexOf('switch')) expect(now).toBe(before);
        if (now === before && run.stdout.includes(`current -> releases/${release.id}`)) {
          // It had switched: the guard took the host back.
          const reverted = await eventually(() => stack.journal().some((e) => e['result'] === 'reverted-by-guard' && e['release'] === release.id), 30_000);
          expect(reverted, diagnostics(run.log, release.id)).toBe(true);
        }
        // What runs is the release current points at.
        const expected = now === release.id ? release.hunter : undefined;
        if (expected !== undefined) expect(stack.imageOf('titan-hunter')).toBe(hunterReference(expected));
        else expect(stack.imageOf('titan-hunter')).not.toBe(hunterReference(release.hunter));
        expect(await stack.healthy()).toBe(true);
      } finally {
        await holding?.release();
        await connection.close();
      }
    });
  }

  it('cancellations landed in the phases they were sent in (or the next one, for phases of a few milliseconds)', () => {
    expect(landed).toHaveLength(PHASES.length);
    const exact = landed.filter((l) => {
      const [sent, at] = l.split(': ');
      return sent === at;
    });
    // lock, install, pull, migrations-check, stop, migrate, start and verify last long enough to be hit.
    expect(exact.length, landed.join('\n')).toBeGreaterThanOrEqual(7);
  });

  it('a HARD_HALT while a deploy pulls: the deploy stops before it stops, starts or arms anything; a halted host refuses a deploy unless it lifts the halt', async () => {
    const release = await changingRelease();
    const ids = containerIds(project);
    execFileSync('docker', ['rmi', '-f', hunterReference(release.hunter)], { stdio: 'ignore' });
    const registry = registryPid();
    process.kill(registry, 'SIGSTOP');
    let deployRun;
    try {
      const running = await stack.startDeploy(release.dir, { mode: 'ARMED' }, '8301');
      expect(await waitForPhase(running, 'pull'), running.log()).toBe(true);
      const halt = await stack.rollback({ mode: 'halt', reason: 'exchange incident during a deploy' });
      expect(halt.status, halt.log).toBe(0);
      expect(halt.outputs['halt-acknowledged']).toBe('true');
      expect(stack.halted()).toBe(true);
      process.kill(registry, 'SIGCONT');
      deployRun = await running.result;
    } finally {
      process.kill(registry, 'SIGCONT');
    }
    expect(deployRun.status).toBe(1);
    expect(deployRun.stdout).toMatch(/::error::An operator halted the host by life-tester at \S+ \(rollback mode halt, [^)]*\): exchange incident during a deploy while this deploy ran; it stops here, before anything of the running stack changed/);
    expect(containerIds(project)).toEqual(ids);
    expect(Object.values(containerStates(project)).every((s) => s === 'running')).toBe(true);
    expect((await health(3100))['mode']).toBe('DISARMED');
    expect(stack.journal().findLast((e) => e['action'] === 'deploy')).toMatchObject({ result: 'failed', release: release.id });

    // Halted: refused at once, the host byte-identical (but for the lock files).
    const listing = appDirListing(appDir).filter((l) => !l.startsWith('.deploy.lock'));
    const refused = await stack.deploy(release.dir, { mode: 'ARMED' }, '8302');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain('is halted by life-tester');
    expect(refused.stdout).toContain('Deploy with lift-halt: true to deploy and lift the halt');
    expect(appDirListing(appDir).filter((l) => !l.startsWith('.deploy.lock'))).toEqual(listing);

    const lifted = await stack.deploy(release.dir, { mode: 'ARMED', 'lift-halt': 'true' }, '8303');
    expect(lifted.status, lifted.log).toBe(0);
    expect(stack.halted()).toBe(false);
    expect((await health(3100))['mode']).toBe('ARMED');
  });

  it('a guard waiting for a frozen deploy, then action-rollback mode stop: the guard returns the host without starting any trading service, and nothing restarts', async () => {
    const before = stack.current();
    const release = await changingRelease();
    const running = await stack.startDeploy(release.dir, { 'heartbeat-timeout': '6' }, '8304');
    expect(await eventually(() => stack.current() === release.id, 90_000, 10), running.log()).toBe(true);
    running.kill('SIGSTOP');
    try {
      const starts = await watchEvents(project, 'start');
      const haltedAt = Date.now() / 1000;
      const stop = await stack.rollback({ mode: 'stop', reason: 'stop trading now' });
      expect(stop.status, stop.log).toBe(0);
      expect(stop.outputs['result']).toBe('stopped');
      expect(await eventually(() => stack.journal().some((e) => e['result'] === 'reverted-by-guard' && e['release'] === release.id), 40_000, 250)).toBe(true);
      expect(await eventually(() => stack.lockFree(), 10_000)).toBe(true);
      const started = (await starts.stop()).filter((e) => TRADING.includes(e.service) && e.time >= haltedAt);
      expect(started).toEqual([]);
      const states = containerStates(project);
      for (const service of TRADING) expect(states[service], service).not.toBe('running');
      for (const service of ['titan-console', 'titan-console-api', 'titan-opsd', 'postgres', 'nats']) expect(states[service], service).toBe('running');
      expect(stack.current()).toBe(before);
      expect(stack.halted()).toBe(true);
      expect(readFileSync(join(appDir, 'state', `guard-${release.id}.log`), 'utf8')).toContain('stay stopped');
    } finally {
      running.kill('SIGCONT');
    }
    expect((await running.result).status).toBe(1);
    const restart = await stack.rollback({ mode: 'restart', reason: 'resume' });
    expect(restart.status, restart.log).toBe(0);
    expect(stack.halted()).toBe(false);
    expect(await stack.healthy()).toBe(true);
  });
});
