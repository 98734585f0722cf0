/**
 * deployRelease against the real test host (sshd, Docker engine, registry, Postgres), one app folder
 * and one compose project for the whole file, releases made by signing examples/titan:
 * a first deploy on a fresh host, a release that changes one service, one that fails its health
 * checks (rolled back), tampered bundles (refused, host byte-identical), migration drift and a
 * failing migration (previous release keeps running), the same release again (nothing recreated)
 * and retention.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployRelease, type DeployOutcome } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/release/local-bundle';
import { startGuard } from '@titan/host/guard';
import { HostLayout } from '@titan/host/host-layout';
import { switchCurrent } from '@titan/host/switch-current';
import { recordingLogger } from '@titan/log/logger';
import { BundleVerificationError } from '@titan/release/bundle-verifier';
import { generateReleaseKey } from '@titan/release/release-key';
import { canonicalJson } from '@titan/release/canonical-json';
import { signManifest } from '@titan/release/manifest-signature';
import type { SshConnection } from '@titan/ssh/connection';
import {
  appDirListing,
  bringDown,
  connectToHost,
  containerEnv,
  containerIds,
  containerStates,
  currentOf,
  health,
  journalOf,
  prepareAppDir,
  productionValues,
} from './support/host-fixture.js';
import { buildVariant, copyExample, releaseKey, signTestRelease } from './support/test-releases.js';

const PROJECT = 'deployflow';
const appDir = prepareAppDir('deploy-flow');
const layout = new HostLayout(appDir);
let connection: SshConnection;

async function deploy(bundleDir: string, options: { healthTimeoutSeconds?: number; keepReleases?: number; mode?: 'ARMED' | 'DISARMED' } = {}): Promise<DeployOutcome & { log: string }> {
  const logger = recordingLogger();
  const outcome = await deployRelease(connection, {
    bundle: await readLocalBundle(bundleDir, []),
    layout,
    project: PROJECT,
    mode: options.mode ?? 'DISARMED',
    healthTimeoutSeconds: options.healthTimeoutSeconds ?? 90,
    confirmTimeoutSeconds: 120,
    lockTimeoutSeconds: 10,
    keepReleases: options.keepReleases ?? 10,
    actor: 'flow-tester',
    runUrl: 'https://github.com/titan/titan/actions/runs/4242',
    logger,
    verifyPollMs: 1000,
  });
  return { ...outcome, log: logger.text() };
}

function sql(query: string): string {
  const id = containerIds(PROJECT)['postgres'];
  if (id === undefined) throw new Error('no postgres container');
  return execFileSync('docker', ['exec', id, 'psql', '-X', '-A', '-t', '-U', 'titan', '-d', 'titan', '-c', query], { encoding: 'utf8' }).trim();
}

function runningDigest(service: string): string {
  const id = containerIds(PROJECT)[service];
  if (id === undefined) throw new Error(`no ${service} container`);
  return execFileSync('docker', ['inspect', '--format', '{{.Config.Image}}', id], { encoding: 'utf8' }).trim();
}

describe('deployRelease on the test host', () => {
  let releaseA: { dir: string; id: string };
  let releaseB: { dir: string; id: string };
  let hunterVariant: string;
  let hunterBroken: string;
  /** Installed on the host by the failing-migration test, never started. */
  let installedOnly: { dir: string; id: string } | undefined;

  beforeAll(async () => {
    bringDown(PROJECT, appDir);
    hunterVariant = buildVariant('titan-hunter', 'flow-2');
    hunterBroken = buildVariant('titan-hunter', 'flow-broken', { BROKEN: '1' });
    const a = await signTestRelease();
    releaseA = { dir: a.dir, id: a.manifest.releaseId };
    const b = await signTestRelease({ digests: { 'titan-hunter': hunterVariant } });
    releaseB = { dir: b.dir, id: b.manifest.releaseId };
    ({ connection } = await connectToHost());
  });

  afterAll(async () => {
    await connection?.close();
    bringDown(PROJECT, appDir);
  });

  it('deploys a first release on a fresh host: all healthy, current points at it, DISARMED, migrations applied', async () => {
    const outcome = await deploy(releaseA.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(outcome.previousReleaseId).toBeUndefined();
    expect(currentOf(appDir)).toBe(`releases/${releaseA.id}`);
    expect(outcome.verification?.healthy).toBe(true);

    const states = containerStates(PROJECT);
    expect(Object.keys(states).sort()).toHaveLength(17);
    expect(Object.values(states).every((s) => s === 'running')).toBe(true);

    const brain = await health(3100);
    expect(brain['mode']).toBe('DISARMED');
    expect(containerEnv(containerIds(PROJECT)['titan-execution'] ?? '')['TITAN_MODE']).toBe('DISARMED');

    expect(sql('SELECT file FROM _titan_migrations ORDER BY file').split('\n')).toEqual([
      '0001_accounts_and_orders.sql',
      '0002_fills_and_positions.sql',
      '0003_risk_and_audit.sql',
    ]);
    expect(sql(`SELECT DISTINCT release FROM _titan_migrations`)).toBe(releaseA.id);

    const last = journalOf(appDir).at(-1);
    expect(last).toMatchObject({ result: 'deployed', release: releaseA.id, previous: null, mode: 'DISARMED', actor: 'flow-tester' });
    expect(existsSync(join(appDir, 'state', `${releaseA.id}.confirmed`))).toBe(true);
    expect(statSync(join(appDir, 'shared', '.env.prod')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(appDir, '.deploy.lock.holder'))).toBe(false);
    for (const value of productionValues(appDir)) {
      expect(outcome.log).not.toContain(value);
      expect(readFileSync(join(appDir, 'journal.jsonl'), 'utf8')).not.toContain(value);
    }
  });

  it('a second release changing one service recreates only that service', async () => {
    const before = containerIds(PROJECT);
    const outcome = await deploy(releaseB.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(outcome.previousReleaseId).toBe(releaseA.id);
    expect(outcome.plan?.changed).toEqual(['titan-hunter']);
    expect(outcome.plan?.stopBeforeSwitch).toEqual([['titan-hunter']]);
    // No migration pending: titan-hunter runs until Compose recreates it after the switch.
    expect(outcome.phases.find((p) => p.name === 'stop')?.outcome).toBe('skipped');
    expect(outcome.log).toContain('No migration is pending: titan-hunter keep running until Compose recreates them at the start.');
    const after = containerIds(PROJECT);
    for (const [service, id] of Object.entries(before)) {
      if (service === 'titan-hunter') expect(after[service]).not.toBe(id);
      else expect(after[service], service).toBe(id);
    }
    expect(runningDigest('titan-hunter')).toContain(hunterVariant);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
  });

  it('a release failing its health checks is rolled back: the previous release runs again, healthy, and the journal says so', async () => {
    const broken = await signTestRelease({ digests: { 'titan-hunter': hunterBroken } });
    const outcome = await deploy(broken.dir, { healthTimeoutSeconds: 20 });
    expect(outcome.result).toBe('rolled-back');
    expect(outcome.error?.message).toMatch(/titan-hunter/);
    expect(outcome.verification?.healthy).toBe(false);
    expect(outcome.rollbackVerification?.healthy).toBe(true);
    expect(outcome.rollbackVerification?.releaseId).toBe(releaseB.id);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
    expect(runningDigest('titan-hunter')).toContain(hunterVariant);
    expect((await health(8083))['status']).toBe('ok');
    expect(existsSync(join(appDir, 'state', `${broken.manifest.releaseId}.bad`))).toBe(true);
    expect(journalOf(appDir).at(-1)).toMatchObject({ result: 'rolled-back', release: broken.manifest.releaseId, previous: releaseB.id });
    expect(outcome.phases.map((p) => p.name)).toContain('rollback');
  });

  describe('a tampered bundle is refused before anything stops, the host byte-identical', () => {
    const tampers: [string, (dir: string) => void][] = [
      ['one byte of a config file', (dir) => {
        const file = join(dir, 'config', 'nats.conf');
        const bytes = readFileSync(file);
        bytes[10] = bytes[10] === 0x41 ? 0x42 : 0x41;
        writeFileSync(file, bytes);
      }],
      ['a signature by another key', (dir) => {
        writeFileSync(join(dir, 'manifest.sig'), signManifest(readFileSync(join(dir, 'manifest.json')), generateReleaseKey()));
      }],
      ['a changed digest in the manifest', (dir) => {
        const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { images: Record<string, { digest: string }> };
        const brain = manifest.images['titan-brain'];
        if (brain === undefined) throw new Error('no titan-brain');
        brain.digest = `sha256:${'0'.repeat(64)}`;
        writeFileSync(join(dir, 'manifest.json'), canonicalJson(manifest));
      }],
    ];
    for (const [what, tamper] of tampers) {
      it(what, async () => {
        const release = await signTestRelease();
        tamper(release.dir);
        const listing = appDirListing(appDir);
        const ids = containerIds(PROJECT);
        const outcome = await deploy(release.dir);
        expect(outcome.result).toBe('failed');
        expect(outcome.hostChanged).toBe(false);
        expect(outcome.error?.name).toBe('HostVerificationError');
        expect(outcome.error?.message).toContain('refused release');
        expect(outcome.phases.map((p) => p.name)).not.toContain('stop');
        expect(appDirListing(appDir)).toEqual(listing);
        expect(containerIds(PROJECT)).toEqual(ids);
        await expect(readLocalBundle(release.dir, [releaseKey.publicKey])).rejects.toBeInstanceOf(BundleVerificationError);
      });
    }
  });

  it('a host without a trusted key is refused with how to provision one', async () => {
    const untrusted = prepareAppDir('deploy-flow-untrusted');
    execFileSync('sh', ['-c', `rm -f ${join(untrusted, 'trust')}/*`]);
    const before = appDirListing(untrusted);
    const logger = recordingLogger();
    const outcome = await deployRelease(connection, {
      bundle: await readLocalBundle(releaseA.dir, []),
      layout: new HostLayout(untrusted),
      project: 'deployflowuntrusted',
      mode: 'DISARMED',
      healthTimeoutSeconds: 30,
      confirmTimeoutSeconds: 30,
      lockTimeoutSeconds: 5,
      keepReleases: 5,
      actor: 'flow-tester',
      runUrl: '',
      logger,
    });
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.message).toContain('no trusted release key');
    expect(outcome.error?.message).toContain('action-provision');
    expect(appDirListing(untrusted).filter((l) => !l.startsWith('.deploy.lock'))).toEqual(before);
  });

  it('migration drift (an applied migration edited in the new release) is refused before anything stops', async () => {
    const source = copyExample();
    appendFileSync(join(source, 'migrations', '0001_accounts_and_orders.sql'), '\n-- edited after it was applied\n');
    const drifted = await signTestRelease({ source, digests: { 'titan-hunter': hunterBroken } });
    const ids = containerIds(PROJECT);
    const outcome = await deploy(drifted.dir);
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.name).toBe('MigrationDriftError');
    expect(outcome.error?.message).toContain('0001_accounts_and_orders.sql');
    expect(outcome.error?.message).toContain('Nothing was stopped');
    expect(containerIds(PROJECT)).toEqual(ids);
    expect(Object.values(containerStates(PROJECT)).every((s) => s === 'running')).toBe(true);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
    expect(journalOf(appDir).at(-1)).toMatchObject({ result: 'failed', release: drifted.manifest.releaseId });
  });

  it('a failing migration leaves the previous release running and current unchanged', async () => {
    const source = copyExample();
    writeFileSync(
      join(source, 'migrations', '0004_fee_tiers.sql'),
      '-- 0004: fee tiers (broken on purpose)\nCREATE TABLE fee_tier (id bigint PRIMARY KEY);\nSELECT no_such_column FROM fee_tier_missing;\n',
    );
    // titan-hunter goes back to the original image: it is stopped before the migrations run.
    const failing = await signTestRelease({ source });
    installedOnly = { dir: failing.dir, id: failing.manifest.releaseId };
    const ids = containerIds(PROJECT);
    const outcome = await deploy(failing.dir);
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.name).toBe('MigrationFailedError');
    expect(outcome.error?.message).toContain('0004_fee_tiers.sql');
    expect(outcome.phases.find((p) => p.name === 'stop')?.outcome).toBe('ok');
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
    expect(containerIds(PROJECT)).toEqual(ids);
    expect(Object.values(containerStates(PROJECT)).every((s) => s === 'running')).toBe(true);
    expect(runningDigest('titan-hunter')).toContain(hunterVariant);
    expect(sql("SELECT count(*) FROM _titan_migrations WHERE file = '0004_fee_tiers.sql'")).toBe('0');
    expect(sql("SELECT to_regclass('fee_tier') IS NULL")).toBe('t');
    expect(outcome.phases.map((p) => p.name)).not.toContain('switch');
  });

  it('a release left unconfirmed by a deploy that died after the switch is reverted first by the next deploy', async () => {
    const orphan = installedOnly;
    if (orphan === undefined) throw new Error('the failing-migration test did not run');
    // What a runner killed right after the switch leaves: a waiting guard and current on the new release.
    await startGuard(
      connection,
      layout,
      {
        confirmTimeoutSeconds: 600,
        plan: {
          project: PROJECT,
          release: orphan.id,
          previous: releaseB.id,
          previousComposeFiles: ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml', 'docker-compose.digests.yml'],
          stopServices: ['titan-hunter'],
          mode: 'DISARMED',
          heldServices: ['titan-hunter'],
          journalFields: { actor: 'flow-tester' },
        },
      },
      recordingLogger(),
    );
    await switchCurrent(connection, layout, orphan.id);
    expect(currentOf(appDir)).toBe(`releases/${orphan.id}`);
    const ids = containerIds(PROJECT);

    const outcome = await deploy(releaseB.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(outcome.recovered).toBe(orphan.id);
    expect(outcome.previousReleaseId).toBe(releaseB.id);
    expect(outcome.log).toContain(`Release ${orphan.id} was left unconfirmed by a deploy that is gone: its return plan ran first (reverted)`);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
    expect(existsSync(join(appDir, 'state', `${orphan.id}.bad`))).toBe(true);
    expect(existsSync(join(appDir, 'state', `guard-${orphan.id}.json`))).toBe(false);
    expect(journalOf(appDir).some((e) => e['result'] === 'reverted-by-recovery' && e['release'] === orphan.id && e['previous'] === releaseB.id)).toBe(true);
    expect(containerIds(PROJECT)).toEqual(ids);
    expect(Object.values(containerStates(PROJECT)).every((s) => s === 'running')).toBe(true);
  });

  it('the same release again recreates nothing, verifies, and keeps keep-releases releases', async () => {
    const ids = containerIds(PROJECT);
    const outcome = await deploy(releaseB.dir, { keepReleases: 2 });
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(outcome.reusedRelease).toBe(true);
    expect(outcome.plan?.changed).toEqual([]);
    expect(outcome.verification?.healthy).toBe(true);
    expect(containerIds(PROJECT)).toEqual(ids);
    const releases = execFileSync('ls', [join(appDir, 'releases')], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(releases).toContain(releaseB.id);
    expect(releases).toContain(releaseA.id);
    expect(outcome.removedReleases.length).toBeGreaterThan(0);
    expect(releases.length).toBeLessThanOrEqual(4);
  });
  it('when Compose has nothing to do the deploy does not start it and still verifies; a stopped service or an edited production values file makes it run up again', async () => {
    const ids = containerIds(PROJECT);
    const idle = await deploy(releaseB.dir);
    expect(idle.result).toBe('deployed');
    expect(idle.log).toContain(`Compose has nothing to do (nothing changes against release ${releaseB.id}, and its 17 containers run as its last start left them`);
    expect(idle.log).not.toContain('docker compose up -d --remove-orphans');
    expect(idle.verification?.healthy).toBe(true);
    expect(containerIds(PROJECT)).toEqual(ids);

    const hunter = ids['titan-hunter'] ?? '';
    execFileSync('docker', ['stop', '-t', '1', hunter], { stdio: 'ignore' });
    const restarted = await deploy(releaseB.dir);
    expect(restarted.result).toBe('deployed');
    expect(restarted.log).toContain('docker compose up -d --remove-orphans');
    expect(containerStates(PROJECT)['titan-hunter']).toBe('running');
    expect(containerIds(PROJECT)).toEqual(ids);

    appendFileSync(join(appDir, 'shared', '.env.prod'), '# edited by an operator\n');
    const edited = await deploy(releaseB.dir);
    expect(edited.result).toBe('deployed');
    expect(edited.log).toContain('the files under shared/ (production values, secrets) changed since the last start');
    expect(edited.log).toContain('docker compose up -d --remove-orphans');
    const again = await deploy(releaseB.dir);
    expect(again.log).toContain('Compose has nothing to do');
  });

  it('a host whose stack was taken down (containers gone, data kept) is brought back: postgres of the running release first', async () => {
    const ids = Object.values(containerIds(PROJECT));
    expect(ids.length).toBe(17);
    execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
    expect(containerIds(PROJECT)).toEqual({});

    const outcome = await deploy(releaseB.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(outcome.log).toContain(`Starting postgres of the running release ${releaseB.id}`);
    expect(outcome.verification?.healthy).toBe(true);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
    const states = containerStates(PROJECT);
    expect(Object.keys(states)).toHaveLength(17);
    expect(Object.values(states).every((s) => s === 'running')).toBe(true);
    // The database volume survived: the history is the one the first deploy wrote.
    expect(sql('SELECT count(*) FROM _titan_migrations')).toBe('3');
  });
});
