/**
 * The deploy lives as long as its runner is alive, and the host protects itself from the deploy's
 * first change until its confirmation. action-deploy's committed bundle runs as a runner runs it,
 * against a stack of this file's own on the real test host, and the runner is frozen (SIGSTOP) or
 * killed (SIGKILL) for real: after the switch, during the stop, during a migration (pg_sleep, then
 * DDL); a holder whose host-side watchdog is frozen too; a stack stopped with its containers kept;
 * a redeploy of the running release from DISARMED to ARMED.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDirListing, bringDown, containerEnv, containerIds, containerStates, eventually, health } from '../../packages/deploy/test/support/host-fixture.js';
import { buildVariant, copyExample, signTestRelease } from '../../packages/deploy/test/support/test-releases.js';
import { lifeStack, sql, waitForPhase } from './support/life-stack.js';

const stack = lifeStack('deploy-life');
const { project, appDir } = stack;
/** Bundle folders of the releases deployed so far, by id. */
const bundles = new Map<string, string>();
const hunters: string[] = [];

/** A signed release whose titan-hunter differs from the one running (so the deploy stops it). */
async function changingRelease(source?: string): Promise<{ dir: string; id: string }> {
  const running = stack.imageOf('titan-hunter');
  const digest = hunters.find((d) => !running.endsWith(d)) ?? '';
  const signed = await signTestRelease({ digests: { 'titan-hunter': digest }, ...(source !== undefined ? { source } : {}) });
  bundles.set(signed.manifest.releaseId, signed.dir);
  return { dir: signed.dir, id: signed.manifest.releaseId };
}

/**
 * A source with a migration pending, so that the deploy stops the changed services itself before
 * the migrations (without one, Compose recreates them at the start). These runs never reach the
 * migration: it stays pending.
 */
function stoppingSource(): string {
  const source = copyExample();
  writeFileSync(join(source, 'migrations', '0004_never_applied.sql'), 'CREATE TABLE never_applied (id bigint PRIMARY KEY);\n');
  return source;
}

function currentBundle(): string {
  const dir = bundles.get(stack.current() ?? '');
  if (dir === undefined) throw new Error(`no bundle for the current release ${stack.current() ?? '(none)'}`);
  return dir;
}

function lastGroup(log: string): string | undefined {
  return [...log.matchAll(/^::group::(.+)$/gm)].map((m) => m[1]).at(-1);
}

function journalHas(entry: Record<string, unknown>): boolean {
  return stack.journal().some((e) => Object.entries(entry).every(([k, v]) => e[k] === v));
}

describe('a deploy as long as its runner lives', () => {
  beforeAll(async () => {
    bringDown(project, appDir);
    hunters.push(buildVariant('titan-hunter', 'life-a'), buildVariant('titan-hunter', 'life-b'));
    const first = await signTestRelease();
    bundles.set(first.manifest.releaseId, first.dir);
    const run = await stack.deploy(first.dir);
    if (run.status !== 0) throw new Error(`the first deploy failed:\n${run.log}`);
  });

  afterAll(() => {
    bringDown(project, appDir);
  });

  it('frozen (SIGSTOP) right after the switch: the host frees the lock within heartbeat-timeout and its guard returns to the previous release; resumed (SIGCONT), the run fails saying it lost the lock and changes nothing', async () => {
    const before = stack.current();
    const release = await changingRelease();
    const running = await stack.startDeploy(release.dir, { 'confirm-timeout': '30' }, '8011');
    expect(await eventually(() => stack.current() === release.id, 90_000, 10), running.log()).toBe(true);
    running.kill('SIGSTOP');
    const frozenAt = Date.now();
    let listing: string[];
    let ids: Record<string, string>;
    try {
      expect(await eventually(() => journalHas({ result: 'reverted-by-guard', release: release.id }), 45_000, 200)).toBe(true);
      expect(Date.now() - frozenAt).toBeLessThan(30_000);
      expect(stack.current()).toBe(before);
      const lost = stack.journal().find((e) => e['action'] === 'lock' && e['result'] === 'lost');
      expect(lost?.['reason']).toMatch(/^no heartbeat from the runner for \d+ s \(heartbeat-timeout 4 s\)$/);
      expect(lost?.['holder']).toMatchObject({ runUrl: 'https://github.com/titan/titan/actions/runs/8011', release: release.id });
      expect(stack.journal().find((e) => e['result'] === 'reverted-by-guard')?.['reason']).toBe('its deploy ended without confirming it');
      expect(existsSync(join(appDir, 'state', `${release.id}.bad`))).toBe(true);
      expect(await eventually(() => stack.lockFree(), 10_000)).toBe(true);
      expect(await eventually(() => stack.healthy(), 60_000, 500)).toBe(true);
      listing = appDirListing(appDir);
      ids = containerIds(project);
    } finally {
      running.kill('SIGCONT');
    }
    const run = await running.result;
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/::error::This run lost the deploy lock on 127\.0\.0\.1: (no heartbeat from the runner|this runner sent no heartbeat) for \d+ s/);
    expect(run.outputs['result']).toBe('failed');
    expect(run.summary).toContain('lost the deploy lock');
    expect(appDirListing(appDir)).toEqual(listing);
    expect(containerIds(project)).toEqual(ids);
  });

  it('killed (SIGKILL) while it stops the changed services: the host starts them again by itself, on the old release, every service up', async () => {
    const before = stack.current();
    const hunter = stack.imageOf('titan-hunter');
    const release = await changingRelease(stoppingSource());
    const running = await stack.startDeploy(release.dir, { 'confirm-timeout': '30' }, '8012');
    expect(await waitForPhase(running, 'stop'), running.log()).toBe(true);
    running.kill('SIGKILL');
    const killedAt = Date.now();
    const killed = await running.result;
    expect(killed.signal).toBe('SIGKILL');
    expect(lastGroup(killed.stdout)).toBe('stop');
    expect(await eventually(() => journalHas({ result: 'restored-by-guard', release: release.id }), 30_000, 200)).toBe(true);
    expect(await eventually(() => stack.healthy(), 30_000, 500)).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(stack.current()).toBe(before);
    expect(stack.imageOf('titan-hunter')).toBe(hunter);
    expect(journalHas({ action: 'lock', result: 'lost', reason: 'the SSH session ended without releasing the lock' })).toBe(true);
    expect(await eventually(() => stack.lockFree(), 10_000)).toBe(true);
  });

  it('frozen (SIGSTOP) while it stops: within heartbeat-timeout the host starts again what it stopped, on the old release', async () => {
    const before = stack.current();
    const hunter = stack.imageOf('titan-hunter');
    const release = await changingRelease(stoppingSource());
    const running = await stack.startDeploy(release.dir, { 'confirm-timeout': '30' }, '8013');
    expect(await waitForPhase(running, 'stop'), running.log()).toBe(true);
    running.kill('SIGSTOP');
    try {
      expect(await eventually(() => journalHas({ result: 'restored-by-guard', release: release.id }), 30_000, 200)).toBe(true);
      expect(await eventually(() => stack.healthy(), 30_000, 500)).toBe(true);
      expect(stack.current()).toBe(before);
      expect(stack.imageOf('titan-hunter')).toBe(hunter);
      expect(await eventually(() => stack.lockFree(), 10_000)).toBe(true);
    } finally {
      running.kill('SIGCONT');
    }
    const run = await running.result;
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('lost the deploy lock');
    expect(stack.current()).toBe(before);
  });

  it('killed mid-migration (pg_sleep(60) then DDL): the migration ends before the lock goes to the next deploy; its table and its history row are both absent', async () => {
    const source = copyExample();
    writeFileSync(join(source, 'migrations', '0004_slow_fee_tiers.sql'), '-- 0004: slow on purpose\nSELECT pg_sleep(60);\nCREATE TABLE fee_tier_slow (id bigint PRIMARY KEY);\n');
    const release = await changingRelease(source);
    const back = currentBundle();
    const sleeping = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'titan-migration-%' AND query LIKE '%pg_sleep(60)%'";
    const running = await stack.startDeploy(release.dir, {}, '8014');
    expect(await eventually(() => sql(project, sleeping) === '1', 90_000, 100), running.log()).toBe(true);
    running.kill('SIGKILL');
    await running.result;

    const second = await stack.startDeploy(back, {}, '8015');
    let overlap = false;
    let secondHeld = false;
    let migrationGoneSeen = false;
    while (!(await Promise.race([second.result.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50))]))) {
      const holder = existsSync(join(appDir, '.deploy.lock.holder')) ? readFileSync(join(appDir, '.deploy.lock.holder'), 'utf8') : '';
      const alive = sql(project, sleeping) !== '0';
      if (!alive) migrationGoneSeen = true;
      if (holder.includes('/runs/8015')) {
        secondHeld = true;
        if (alive) overlap = true;
      }
    }
    const run = await second.result;
    expect(run.status, run.log).toBe(0);
    expect(secondHeld || /Took the deploy lock/.test(run.stdout)).toBe(true);
    expect(migrationGoneSeen).toBe(true);
    expect(overlap).toBe(false);
    const table = sql(project, "SELECT to_regclass('fee_tier_slow') IS NOT NULL");
    const row = sql(project, "SELECT count(*) > 0 FROM _titan_migrations WHERE file = '0004_slow_fee_tiers.sql'");
    expect(table).toBe(row);
    expect(table).toBe('f');
    expect(readdirSync(join(appDir, 'state')).filter((f) => f.startsWith('work-'))).toEqual([]);
    expect(journalHas({ action: 'lock', result: 'lost' })).toBe(true);
    expect(await stack.healthy()).toBe(true);
  });

  it('a holder whose runner and host-side watchdog are both frozen never blocks: the next deploy ends it after twice its heartbeat-timeout', async () => {
    const dir = currentBundle();
    const frozen = await stack.startDeploy(dir, {}, '8016');
    const holderFile = join(appDir, '.deploy.lock.holder');
    expect(await eventually(() => existsSync(holderFile) && readFileSync(holderFile, 'utf8').includes('/runs/8016'), 60_000, 5)).toBe(true);
    // Frozen once it holds the lock as far as the runner knows too (the host writes the holder file
    // just before it tells the runner), so that the resumed run finds a lock it had and lost.
    expect(await eventually(() => frozen.log().includes('Took the deploy lock'), 30_000, 5), frozen.log()).toBe(true);
    const watchdog = Number((JSON.parse(readFileSync(holderFile, 'utf8')) as { pid: number }).pid);
    frozen.kill('SIGSTOP');
    process.kill(watchdog, 'SIGSTOP');
    try {
      const next = await stack.deploy(dir, {}, '8017');
      expect(next.status, next.log).toBe(0);
      // The host ended the frozen holder only once it had been silent for more than twice its
      // heartbeat-timeout (4 s), counted from its last heartbeat; the next deploy never waited long.
      const silent = /::warning::127\.0\.0\.1: the deploy lock's holder \(process group \d+\) sent no heartbeat for (\d+) s, more than twice its heartbeat-timeout of 4 s: ending it/.exec(next.stdout);
      expect(silent, next.log).not.toBeNull();
      expect(Number(silent?.[1])).toBeGreaterThan(8);
      const waited = Number(/Took the deploy lock \S+ after ([0-9.]+) s/.exec(next.stdout)?.[1]);
      expect(waited).toBeLessThan(30);
    } finally {
      try {
        process.kill(watchdog, 'SIGCONT');
      } catch {
        // ended by the next deploy, as it should be
      }
      frozen.kill('SIGCONT');
    }
    const resumed = await frozen.result;
    expect(resumed.status).toBe(1);
    expect(resumed.stdout).toContain('lost the deploy lock');
    expect(await stack.healthy()).toBe(true);
  });

  it('a stack stopped with its containers kept (docker stop of every container): the deploy starts postgres of the running release, then brings everything up', async () => {
    const ids = Object.values(containerIds(project));
    expect(ids).toHaveLength(17);
    execFileSync('docker', ['stop', '-t', '5', ...ids], { stdio: 'ignore' });
    expect(Object.values(containerStates(project)).every((s) => s === 'exited')).toBe(true);
    const release = await changingRelease();
    const started = Date.now();
    const run = await stack.deploy(release.dir, {}, '8018');
    expect(run.status, run.log).toBe(0);
    expect(run.stdout).toContain(`The postgres container of project ${project} is stopped on 127.0.0.1. Starting postgres of the running release`);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(stack.current()).toBe(release.id);
    expect(await stack.healthy()).toBe(true);
  });

  it('a redeploy of the running release from DISARMED to ARMED has a guard: killed once started ARMED, the host returns it DISARMED by itself; state/mode says what runs', async () => {
    const release = stack.current() ?? '';
    const running = await stack.startDeploy(currentBundle(), { mode: 'ARMED' }, '8019');
    expect(await waitForPhase(running, 'verify'), running.log()).toBe(true);
    expect(readFileSync(join(appDir, 'state', 'mode'), 'utf8').trim()).toBe('ARMED');
    running.kill('SIGKILL');
    await running.result;
    expect(await eventually(() => journalHas({ result: 'returned-by-guard', release, mode: 'DISARMED' }), 30_000, 200)).toBe(true);
    expect(await eventually(() => stack.healthy(), 60_000, 500)).toBe(true);
    expect(readFileSync(join(appDir, 'state', 'mode'), 'utf8').trim()).toBe('DISARMED');
    expect((await health(3100))['mode']).toBe('DISARMED');
    expect(containerEnv(containerIds(project)['titan-execution'] ?? '')['TITAN_MODE']).toBe('DISARMED');
    expect(stack.current()).toBe(release);
    expect(existsSync(join(appDir, 'state', `${release}.bad`))).toBe(false);
  });
});
