/**
 * The bundled action (dist/index.js) run as a runner runs it, against the real test host: a deploy
 * with its outputs, summary and no secret anywhere (log, summary, journal, the host's process list);
 * two deploys at once; a deploy killed with SIGKILL (the lock is free at once); a deploy killed just
 * after the switch (the host reverts by itself); ARMED only when asked; the GitHub deployment.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActionBundle, startActionBundle, type ActionRun } from '@titan/test-host/action-run';
import type { DeployPlan } from '@titan/deploy/deploy-plan';
import {
  appDirListing,
  bringDown,
  containerIds,
  currentOf,
  eventually,
  health,
  journalOf,
  prepareAppDir,
  productionValues,
  testHost,
} from '../../packages/deploy/test/support/host-fixture.js';
import { buildVariant, copyExample, signTestRelease } from '../../packages/deploy/test/support/test-releases.js';
import { startGitHubApiDouble } from './support/github-api-double.js';

const ACTION = 'action-deploy';
const PROJECT = 'deployaction';
const appDir = prepareAppDir('deploy-action');

function inputs(bundle: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: testHost.host,
    port: String(testHost.port),
    user: testHost.user,
    'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'),
    'known-hosts': testHost.knownHosts,
    bundle,
    'public-key': testHost.releasePublicKey,
    'app-dir': appDir,
    project: PROJECT,
    'health-timeout': '90',
    'confirm-timeout': '120',
    'lock-timeout': '60',
    ...extra,
  };
}

/** The run context a runner gives: actor and run URL pieces. */
function runContext(runId: string, actor = 'octo-deployer'): Record<string, string> {
  return {
    GITHUB_ACTOR: actor,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'titan/titan',
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: '1',
  };
}

/** Every container of the project: id, state, start and finish times, image (what a plan must leave alone). */
function containerListing(project: string): string {
  const ids = Object.values(containerIds(project)).sort();
  return execFileSync('docker', ['inspect', '--format', '{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.RestartCount}} {{.Config.Image}}', ...ids], { encoding: 'utf8' });
}

function hunterImage(): string {
  const id = containerIds(PROJECT)['titan-hunter'] ?? '';
  return execFileSync('docker', ['inspect', '--format', '{{.Config.Image}}', id], { encoding: 'utf8' }).trim();
}

/** What a person sees of the output: the runner consumes `::add-mask::` commands and never shows them. */
function visible(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

function lockWaitSeconds(result: ActionRun): number {
  const match = /Took the deploy lock \S+ after ([0-9.]+) s/.exec(result.stdout);
  if (match?.[1] === undefined) throw new Error(`no lock line in:\n${result.stdout}`);
  return Number(match[1]);
}

describe('the bundled action against the test host', () => {
  let r1: { dir: string; id: string };
  let r2: { dir: string; id: string };
  let hunterVariant: string;

  beforeAll(async () => {
    bringDown(PROJECT, appDir);
    hunterVariant = buildVariant('titan-hunter', 'action-2');
    const a = await signTestRelease();
    r1 = { dir: a.dir, id: a.manifest.releaseId };
    const b = await signTestRelease({ digests: { 'titan-hunter': hunterVariant } });
    r2 = { dir: b.dir, id: b.manifest.releaseId };
  });

  afterAll(() => {
    bringDown(PROJECT, appDir);
  });

  it('deploys: outputs, a summary with the mode in bold and every digest, and no secret in the log, summary, journal or process list', async () => {
    const secrets = productionValues(appDir);
    expect(secrets.length).toBeGreaterThan(10);
    const seen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const line of execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n')) seen.add(line);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const result = await runActionBundle(ACTION, { inputs: inputs(r1.dir), env: runContext('2001') });
    sampling = false;
    await sampler;

    expect(result.stderr + result.stdout).not.toMatch(/::error::/);
    expect(result.status).toBe(0);
    expect(result.outputs).toEqual({ 'release-id': r1.id, 'previous-release-id': '', result: 'deployed', 'rolled-back': 'false' });
    expect(currentOf(appDir)).toBe(`releases/${r1.id}`);
    expect((await health(3100))['mode']).toBe('DISARMED');
    expect(result.summary).toContain('Mode: **DISARMED**');
    expect(result.summary).toContain(`release ${r1.id}`);
    expect(result.summary).toContain('titan-console-api');
    expect(result.summary).toContain('| phase | start | duration | timeline |');
    expect(result.summary).toContain('Verified');
    expect(result.stdout).toContain('verified on the runner');
    const journal = readFileSync(join(appDir, 'journal.jsonl'), 'utf8');
    expect(journalOf(appDir).at(-1)).toMatchObject({
      result: 'deployed',
      actor: 'octo-deployer',
      runUrl: 'https://github.com/titan/titan/actions/runs/2001',
    });
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].some((l) => l.includes('docker compose') || l.includes('docker-compose'))).toBe(true);
    for (const value of secrets) {
      expect(visible(result.stdout)).not.toContain(value);
      expect(result.stderr).not.toContain(value);
      expect(result.summary).not.toContain(value);
      expect(journal).not.toContain(value);
      expect([...seen].filter((l) => l.includes(value))).toEqual([]);
    }
    const sshKeyBody = readFileSync(testHost.privateKeyPath, 'utf8').split('\n')[1] ?? '';
    expect(sshKeyBody.length).toBeGreaterThan(20);
    expect(visible(result.stdout) + result.summary).not.toContain(sshKeyBody);
    expect(statSync(join(appDir, 'shared', '.env.prod')).mode & 0o777).toBe(0o600);
  });

  it('two deploys at once: the second waits, then fails naming the holder; after a SIGKILL of the holder the next deploy takes the lock as soon as the host has ended the killed deploy\'s work (seconds, not heartbeat-timeout)', async () => {
    const first = await startActionBundle(ACTION, { inputs: inputs(r2.dir), env: runContext('3001', 'first-deployer') });
    const holderFile = join(appDir, '.deploy.lock.holder');
    expect(await eventually(() => existsSync(holderFile), 30_000, 20)).toBe(true);

    const second = await runActionBundle(ACTION, { inputs: inputs(r2.dir, { 'lock-timeout': '3' }), env: runContext('3002', 'second-deployer') });
    expect(second.status).toBe(1);
    expect(second.stdout).toMatch(/::error::The deploy lock on 127\.0\.0\.1 is held by https:\/\/github\.com\/titan\/titan\/actions\/runs\/3001 \(release \S+, actor first-deployer, since \d{4}-\d\d-\d\dT/);
    expect(second.stdout).toContain(`release ${r2.id}`);
    expect(second.stdout).toContain('waited 3 s');
    expect(second.outputs['result']).toBe('failed');

    first.kill('SIGKILL');
    const killed = await first.result;
    expect(killed.signal).toBe('SIGKILL');

    const api = await startGitHubApiDouble();
    try {
      const started = Date.now();
      // By the time the second run gives up, the first may be past its switch (r2 changes one service
      // and has no migration: nothing stops before it), so its guard returns the host and marks r2
      // bad: deploying r2 again is then a deliberate downgrade.
      const third = await runActionBundle(ACTION, {
        inputs: inputs(r2.dir, { mode: 'ARMED', 'github-token': 'ghs_testtoken0123456789', 'allow-downgrade': 'true' }),
        env: { ...runContext('3003', 'third-deployer'), GITHUB_API_URL: api.url },
      });
      expect(third.stdout).not.toMatch(/::error::/);
      expect(third.status).toBe(0);
      // The host notices the closed session itself and ends the killed deploy's work before it frees
      // the lock: a few seconds on a loaded machine, far below the 60 s heartbeat-timeout in force.
      expect(lockWaitSeconds(third)).toBeLessThan(15);
      expect(Date.now() - started).toBeLessThan(90_000);
      expect(third.outputs['result']).toBe('deployed');
      expect(third.outputs['release-id']).toBe(r2.id);
      expect(currentOf(appDir)).toBe(`releases/${r2.id}`);
      expect(hunterImage()).toContain(hunterVariant);
      expect((await health(3100))['mode']).toBe('ARMED');
      expect(third.summary).toContain('Mode: **ARMED**');
      expect(visible(third.stdout)).not.toContain('ghs_testtoken0123456789');

      const deployment = api.requests.find((r) => r.method === 'POST' && r.url.endsWith('/deployments'));
      expect(deployment?.url).toBe('/repos/titan/titan/deployments');
      expect(deployment?.authorization).toBe('token ghs_testtoken0123456789');
      const manifest = JSON.parse(readFileSync(join(r2.dir, 'manifest.json'), 'utf8')) as { git: { sha: string } };
      expect(deployment?.body).toMatchObject({ ref: manifest.git.sha, environment: 'production', auto_merge: false, required_contexts: [] });
      const states = api.requests.filter((r) => r.url.endsWith('/deployments/4711/statuses')).map((r) => r.body['state']);
      expect(states).toEqual(['in_progress', 'success']);
      expect(api.requests.filter((r) => r.url.endsWith('/statuses')).every((r) => r.body['log_url'] === 'https://github.com/titan/titan/actions/runs/3003')).toBe(true);
    } finally {
      await api.close();
    }
  });

  it('a deploy killed with SIGKILL just after the switch: the host returns to the previous release by itself within confirm-timeout', async () => {
    const before = currentOf(appDir);
    expect(before).toBe(`releases/${r2.id}`);
    const r3 = await signTestRelease();
    const confirmTimeout = 15;
    const running = await startActionBundle(ACTION, { inputs: inputs(r3.dir, { 'confirm-timeout': String(confirmTimeout) }), env: runContext('4001', 'doomed-deployer') });
    const flipped = await eventually(() => currentOf(appDir) === `releases/${r3.manifest.releaseId}`, 60_000, 10);
    expect(flipped, running.log()).toBe(true);
    running.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await running.result).signal).toBe('SIGKILL');
    expect(existsSync(join(appDir, 'state', `${r3.manifest.releaseId}.confirmed`))).toBe(false);

    const reverted = await eventually(() => currentOf(appDir) === before, (confirmTimeout + 30) * 1000, 200);
    expect(reverted).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan((confirmTimeout + 30) * 1000);
    expect(readlinkSync(join(appDir, 'current'))).toBe(`releases/${r2.id}`);
    expect(await eventually(() => existsSync(join(appDir, 'state', `${r3.manifest.releaseId}.bad`)), 30_000)).toBe(true);
    // The journal's line for r3 (the killed deploy of the test before may have left its own).
    const revertedR3 = (e: Record<string, unknown>): boolean => e['result'] === 'reverted-by-guard' && e['release'] === r3.manifest.releaseId;
    expect(await eventually(() => journalOf(appDir).some(revertedR3), 60_000)).toBe(true);
    expect(journalOf(appDir).find(revertedR3)).toMatchObject({
      release: r3.manifest.releaseId,
      previous: r2.id,
      mode: 'DISARMED',
      runUrl: 'https://github.com/titan/titan/actions/runs/4001',
    });
    expect(await eventually(() => hunterImage().includes(hunterVariant), 60_000)).toBe(true);
    const healthy = await eventually(async () => {
      try {
        const body = await health(8083);
        return body['status'] === 'ok';
      } catch {
        return false;
      }
    }, 60_000, 500);
    expect(healthy).toBe(true);
    // The revert starts the previous release DISARMED: an automatic return never arms the stack.
    expect(await eventually(async () => (await health(3100).catch((): Record<string, unknown> => ({})))['mode'] === 'DISARMED', 60_000, 500)).toBe(true);
  });
  it('plan: true says what a deploy would do (the strategy service that changes and when it stops, the migration pending, the mode, Compose, retention) in the log, the summary and the plan output, and changes nothing on the host', async () => {
    // The host runs r2 (titan-hunter's variant) again, returned to by its guard in the test before.
    expect(currentOf(appDir)).toBe(`releases/${r2.id}`);
    expect(await eventually(() => !existsSync(join(appDir, '.deploy.lock.holder')), 30_000)).toBe(true);
    const hunterBack = await signTestRelease();
    const source = copyExample();
    writeFileSync(join(source, 'migrations', '0004_plan_probe.sql'), 'CREATE TABLE plan_probe (id integer PRIMARY KEY);\n');
    const withMigration = await signTestRelease({ source, digests: { 'titan-hunter': hunterVariant } });
    const olderRelease = await signTestRelease({ createdAt: new Date(Date.now() - 3_600_000) });
    const before = { listing: appDirListing(appDir), containers: containerListing(PROJECT), journal: readFileSync(join(appDir, 'journal.jsonl')) };

    const hunter = await runActionBundle(ACTION, { inputs: inputs(hunterBack.dir, { plan: 'true' }), env: runContext('2101', 'planner') });
    const migration = await runActionBundle(ACTION, { inputs: inputs(withMigration.dir, { plan: 'true' }), env: runContext('2102', 'planner') });
    const older = await runActionBundle(ACTION, { inputs: inputs(olderRelease.dir, { plan: 'true' }), env: runContext('2103', 'planner') });

    expect(appDirListing(appDir)).toEqual(before.listing);
    expect(containerListing(PROJECT)).toEqual(before.containers);
    expect(readFileSync(join(appDir, 'journal.jsonl')).equals(before.journal)).toBe(true);
    expect(currentOf(appDir)).toBe(`releases/${r2.id}`);

    expect(hunter.stdout).not.toMatch(/::error::/);
    expect(hunter.status).toBe(0);
    expect(hunter.outputs['result']).toBe('planned');
    const plan = JSON.parse(hunter.outputs['plan'] ?? '') as DeployPlan;
    expect(plan).toMatchObject({
      releaseId: hunterBack.manifest.releaseId,
      previousReleaseId: r2.id,
      refusals: [],
      bundle: 'upload',
      mode: { from: 'DISARMED', to: 'DISARMED' },
      changed: ['titan-hunter'],
      stop: [],
      recreatedAtStart: ['titan-hunter'],
      migrations: { alreadyApplied: 3, pending: [] },
      switch: true,
      compose: { up: true },
      retention: { remove: [] },
    });
    const hunterPlan = plan.services.find((s) => s.service === 'titan-hunter');
    expect(hunterPlan?.change).toEqual(['image']);
    expect(hunterPlan?.previousImage).toContain(hunterVariant);
    expect(hunterPlan?.image).not.toContain(hunterVariant);
    expect(plan.images).toEqual({ total: 17, pull: [] });
    expect(hunter.stdout).toContain(`A deploy of release ${hunterBack.manifest.releaseId} to ${testHost.host} would go ahead. Nothing was changed on the host.`);
    expect(hunter.stdout).toContain('Stopped before the migrations, in this order: nothing.');
    expect(hunter.stdout).toContain('Kept running until Compose recreates them at the start (no migration pending): titan-hunter.');
    expect(hunter.stdout).toContain('Mode: DISARMED -> DISARMED.');
    expect(hunter.summary).toContain(`## 📋 Plan: release ${hunterBack.manifest.releaseId} on ${testHost.host}`);
    expect(hunter.summary).toContain('Mode: **DISARMED → DISARMED**');
    expect(hunter.summary).toContain('| **recreated at the start** | titan-hunter (no migration pending: Compose stops and recreates them after the switch) |');
    expect(hunter.summary).toContain('| titan-hunter | titan-phase2-hunter@sha256:');
    expect(hunter.summary).toContain('1 of 17 services change');

    expect(migration.status).toBe(0);
    const second = JSON.parse(migration.outputs['plan'] ?? '') as DeployPlan;
    expect(second).toMatchObject({ changed: [], stop: [], migrations: { alreadyApplied: 3, pending: ['0004_plan_probe.sql'] }, mode: { from: 'DISARMED', to: 'DISARMED' } });
    // The guard's return (the test before) started the stack again DISARMED after the last recorded start (ARMED): Compose runs.
    expect(second.compose).toEqual({ up: true, why: 'the last recorded start of the stack was in mode ARMED; this deploy starts it DISARMED' });
    expect(migration.summary).toContain('| **migrations pending** | 0004\\_plan\\_probe.sql (3 already applied) |');
    expect(migration.summary).toContain('| **stopped, in order** | nothing |');
    expect(migration.summary).toContain('| **compose** | up -d --remove-orphans: the last recorded start of the stack was in mode ARMED; this deploy starts it DISARMED |');
    expect(migration.stdout).toContain('pending: 0004_plan_probe.sql.');

    // A deploy that would be refused (older than the running release): the plan fails the step with the reason.
    expect(older.status).toBe(1);
    expect(older.outputs['result']).toBe('refused');
    const refusals = (JSON.parse(older.outputs['plan'] ?? '') as DeployPlan).refusals;
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain(`is older than release ${r2.id}, which runs now`);
    expect(older.stdout).toMatch(/::error::A deploy of release \S+ to 127\.0\.0\.1 would be refused: Refused: release \S+ \(created [^)]+\) is older than release/);
    expect(older.summary).toContain(`## ⛔ Plan: the deploy would be refused: release ${olderRelease.manifest.releaseId} on ${testHost.host}`);
  });
});

describe('the bundled action refuses bad input before it connects', () => {
  it('with no inputs it fails with a ConfigurationError naming the missing input', async () => {
    const result = await runActionBundle(ACTION);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('::error::Configuration error: Input required and not supplied: host');
    // Every run leaves a job summary, also one that failed before connecting.
    expect(result.summary).toContain('## ❌ Deploy failed');
    expect(result.summary).toContain('Configuration error: Input required and not supplied: host');
  });

  it('shell metacharacters in app-dir, project and the release id are rejected, never executed', async () => {
    const pwned = '/tmp/pwned';
    rmSync(pwned, { force: true });
    const release = await signTestRelease();
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'app-dir': `/tmp/x$(touch ${pwned})` }, /Configuration error: Input app-dir "\/tmp\/x\$\(touch \/tmp\/pwned\)" is not usable/],
      [{ 'app-dir': '/opt/titan/../../etc' }, /Input app-dir .* must not contain "\." or "\.\." segments/],
      [{ project: `titan;touch ${pwned}` }, /Configuration error: Input project "titan;touch \/tmp\/pwned" is not a Compose project name/],
      [{ project: `$(touch ${pwned})` }, /Input project/],
      [{ mode: 'armed' }, /Input mode must be one of DISARMED, ARMED; got "armed"/],
    ];
    for (const [extra, message] of cases) {
      const result = await runActionBundle(ACTION, { inputs: inputs(release.dir, extra) });
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(message);
    }
    const badId = join(release.dir, '..', 'bad-id');
    execFileSync('cp', ['-r', release.dir, badId]);
    const manifestPath = join(badId, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    manifest['releaseId'] = `$(touch ${pwned})`;
    execFileSync('sh', ['-c', 'cat > "$1"', 'write', manifestPath], { input: JSON.stringify(manifest) });
    const result = await runActionBundle(ACTION, { inputs: inputs(badId) });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('Configuration error: Input bundle');
    expect(result.stdout).toContain('breaks the release id rule');
    expect(existsSync(pwned)).toBe(false);
  });
});
