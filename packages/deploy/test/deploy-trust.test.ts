/**
 * What runs is exactly what was signed, against the real test host (sshd, Docker engine, registry,
 * Postgres), one app folder and one compose project for the whole file: released files read-only
 * (no setuid or world-writable mode survives the upload); a release id reused only with a
 * byte-identical manifest; no downgrade (older, or marked bad) without allow-downgrade; the key id
 * naming the key that verifies it; a revoked key verifying nothing, not even the release a revert
 * would return to; migrations that control their transaction or hold psql meta-commands refused on
 * the host before anything stops; a migration whose history row does not appear stopping the deploy.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployRelease, type DeployOutcome } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/release/local-bundle';
import { HostLayout } from '@titan/host/host-layout';
import { recordingLogger } from '@titan/log/logger';
import { generateReleaseKey, publicKeyToPem, releaseKeyId } from '@titan/release/release-key';
import type { SshConnection } from '@titan/ssh/connection';
import { appDirListing, bringDown, connectToHost, containerIds, currentOf, journalOf, prepareAppDir, testHost } from './support/host-fixture.js';
import { buildVariant, copyExample, signTestRelease } from './support/test-releases.js';

const PROJECT = 'deploytrust';
const appDir = prepareAppDir('deploy-trust');
const layout = new HostLayout(appDir);
let connection: SshConnection;

async function deploy(bundleDir: string, options: { allowDowngrade?: boolean; healthTimeoutSeconds?: number } = {}): Promise<DeployOutcome & { log: string }> {
  const logger = recordingLogger();
  const outcome = await deployRelease(connection, {
    bundle: await readLocalBundle(bundleDir, []),
    layout,
    project: PROJECT,
    mode: 'DISARMED',
    healthTimeoutSeconds: options.healthTimeoutSeconds ?? 90,
    confirmTimeoutSeconds: 120,
    lockTimeoutSeconds: 10,
    keepReleases: 20,
    actor: 'trust-tester',
    runUrl: 'https://github.com/titan/titan/actions/runs/8888',
    logger,
    verifyPollMs: 1000,
    ...(options.allowDowngrade !== undefined ? { allowDowngrade: options.allowDowngrade } : {}),
  });
  return { ...outcome, log: logger.text() };
}

function sql(query: string): string {
  const id = containerIds(PROJECT)['postgres'];
  if (id === undefined) throw new Error('no postgres container');
  return execFileSync('docker', ['exec', id, 'psql', '-X', '-A', '-t', '-U', 'titan', '-d', 'titan', '-c', query], { encoding: 'utf8' }).trim();
}

/** Service -> container start time: a container that was stopped or recreated changes it. */
function startedAt(): Record<string, string> {
  const ids = containerIds(PROJECT);
  return Object.fromEntries(Object.entries(ids).map(([service, id]) => [service, execFileSync('docker', ['inspect', '--format', '{{.State.StartedAt}}', id], { encoding: 'utf8' }).trim()]));
}

/** Every path under a folder with its permission bits. */
function modes(root: string): Map<string, number> {
  const out = new Map<string, number>([['.', statSync(root).mode & 0o7777]]);
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative))) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const info = lstatSync(join(root, path));
      out.set(path, info.mode & 0o7777);
      if (info.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

/** The deploy user's uid and gid (files the tests put in the app folder belong to it, as the host's would). */
function deployUser(): { uid: number; gid: number } {
  return statSync(appDir);
}

/** A release of examples/titan with one more migration. */
async function withMigration(name: string, text: string): Promise<{ dir: string; id: string }> {
  const source = copyExample();
  writeFileSync(join(source, 'migrations', name), text);
  const release = await signTestRelease({ source });
  return { dir: release.dir, id: release.manifest.releaseId };
}

describe('what runs is exactly what was signed', () => {
  let releaseA: { dir: string; id: string };
  let releaseB: { dir: string; id: string };

  beforeAll(async () => {
    bringDown(PROJECT, appDir);
    const a = await signTestRelease();
    releaseA = { dir: a.dir, id: a.manifest.releaseId };
    const b = await signTestRelease({ createdAt: new Date(Date.now() + 5000) });
    releaseB = { dir: b.dir, id: b.manifest.releaseId };
    ({ connection } = await connectToHost());
  });

  afterAll(async () => {
    await connection?.close();
    bringDown(PROJECT, appDir);
  });

  it('released files are read-only for everyone: no write, setuid, setgid or sticky bit survives the upload', async () => {
    // The bundle on the runner as a careless (or hostile) job could leave it: modes the tar keeps.
    chmodSync(join(releaseA.dir, 'config', 'prometheus.yml'), 0o4777);
    chmodSync(join(releaseA.dir, 'config', 'policy.json'), 0o2666);
    chmodSync(join(releaseA.dir, 'migrations'), 0o1777);
    chmodSync(join(releaseA.dir, 'config'), 0o777);
    const outcome = await deploy(releaseA.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');

    const released = modes(join(appDir, 'releases', releaseA.id));
    expect(released.size).toBeGreaterThan(10);
    for (const [path, mode] of released) expect(mode & 0o7222, `${path} ${mode.toString(8)}`).toBe(0);
    expect(released.get('config/prometheus.yml')).toBe(0o555);
    expect(released.get('config/policy.json')).toBe(0o444);
    expect(released.get('migrations')).toBe(0o555);
    expect(released.get('docker-compose.yml')).toBe(0o444);
    // The deploy user, who owns the folder, cannot change a released file either.
    const write = await connection.run(['sh', '-c', 'echo edited >> "$1"', 'write', join(appDir, 'releases', releaseA.id, 'config', 'policy.json')], { acceptExitCodes: [1, 2] });
    expect(write.exitCode).not.toBe(0);
    expect(write.stderrTail).toMatch(/Permission denied/);
  });

  it("a release id already on the host is reused only with a byte-identical manifest; an edited local one is refused before anything changes", async () => {
    const text = readFileSync(join(releaseA.dir, 'manifest.json'), 'utf8');
    const digest = /"titan-hunter":\{"digest":"sha256:([0-9a-f]{64})"/.exec(text)?.[1] ?? '';
    expect(digest).toHaveLength(64);
    writeFileSync(join(releaseA.dir, 'manifest.json'), text.replace(digest, 'f'.repeat(64)));
    const listing = appDirListing(appDir);
    const started = startedAt();
    try {
      const outcome = await deploy(releaseA.dir);
      expect(outcome.result).toBe('failed');
      expect(outcome.hostChanged).toBe(false);
      expect(outcome.error?.message).toMatch(new RegExp(`^Release ${releaseA.id} is already on 127\\.0\\.0\\.1, but the local bundle's manifest\\.json is not byte-identical to the host's verified copy .*Nothing was changed`));
      expect(outcome.phases.map((p) => p.name)).not.toContain('install');
      expect(appDirListing(appDir)).toEqual(listing);
      expect(startedAt()).toEqual(started);
    } finally {
      writeFileSync(join(releaseA.dir, 'manifest.json'), text);
    }
  });

  it('an older release, or one marked bad, is refused before anything changes unless allow-downgrade', async () => {
    expect((await deploy(releaseB.dir)).result).toBe('deployed');
    const listing = appDirListing(appDir);
    const older = await deploy(releaseA.dir);
    expect(older.result).toBe('failed');
    expect(older.hostChanged).toBe(false);
    expect(older.error?.message).toMatch(new RegExp(`^Refused: release ${releaseA.id} \\(created .*\\) is older than release ${releaseB.id}, which runs now \\(created .*\\)\\. Nothing was changed\\. .*allow-downgrade: true`));
    expect(appDirListing(appDir)).toEqual(listing);
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);

    const allowed = await deploy(releaseA.dir, { allowDowngrade: true });
    expect(allowed.error?.message).toBeUndefined();
    expect(allowed.result).toBe('deployed');
    expect(allowed.log).toContain(`Deploying a downgrade as asked (allow-downgrade: true): release ${releaseA.id}`);
    expect(currentOf(appDir)).toBe(`releases/${releaseA.id}`);

    const mark = join(appDir, 'state', `${releaseB.id}.bad`);
    writeFileSync(mark, `${JSON.stringify({ release: releaseB.id, at: new Date().toISOString(), reason: 'failed in production' })}\n`);
    chownSync(mark, deployUser().uid, deployUser().gid);
    const bad = await deploy(releaseB.dir);
    expect(bad.result).toBe('failed');
    expect(bad.hostChanged).toBe(false);
    expect(bad.error?.message).toMatch(new RegExp(`^Refused: release ${releaseB.id} is marked bad on this host \\(state/${releaseB.id}\\.bad\\)\\. Nothing was changed`));
    expect((await deploy(releaseB.dir, { allowDowngrade: true })).result).toBe('deployed');
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
  });

  it("the manifest's key id must name the trusted key that verifies it", async () => {
    const misnamed = await signTestRelease({ keyId: 'ed25519-0000000000000000', createdAt: new Date(Date.now() + 10_000) });
    const listing = appDirListing(appDir);
    const outcome = await deploy(misnamed.dir);
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.name).toBe('HostVerificationError');
    expect(outcome.error?.message).toContain(
      `refused release ${misnamed.manifest.releaseId}: manifest.json names key ed25519-0000000000000000, which is not one of the 1 trusted key(s) in ${appDir}/trust`,
    );
    expect(appDirListing(appDir)).toEqual(listing);
  });

  it('migrations: transaction control and psql meta-commands are refused on the host before anything stops', async () => {
    const release = await withMigration(
      '0004_own_transaction.sql',
      'CREATE TABLE trust_committed (id int);\nCOMMIT;\nCREATE TABLE trust_after (id int);\n\\q\n',
    );
    const started = startedAt();
    const outcome = await deploy(release.dir);
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.name).toBe('MigrationContentError');
    expect(outcome.error?.message).toContain(`The host refuses to apply the migrations of release ${release.id}: migrations/0004_own_transaction.sql:2 controls its own transaction (COMMIT)`);
    expect(outcome.error?.message).toContain('migrations/0004_own_transaction.sql:4 holds the psql meta-command \\q');
    expect(outcome.error?.message).toContain('Nothing was stopped and no migration ran.');
    expect(outcome.phases.map((p) => p.name)).not.toContain('stop');
    expect(outcome.phases.map((p) => p.name)).not.toContain('migrate');
    expect(startedAt()).toEqual(started);
    expect(sql("SELECT to_regclass('trust_committed') IS NULL")).toBe('t');
    expect(sql("SELECT count(*) FROM _titan_migrations WHERE file LIKE '0004%'")).toBe('0');
    expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
  });

  it('after each apply the history row is checked: a migration that keeps its row out stops the deploy, saying what the database may hold', async () => {
    const release = await withMigration(
      '0004_no_history.sql',
      'CREATE TABLE trust_unrecorded (id int);\nCREATE RULE trust_no_history AS ON INSERT TO _titan_migrations DO INSTEAD NOTHING;\n',
    );
    try {
      const outcome = await deploy(release.dir);
      expect(outcome.result).toBe('failed');
      expect(outcome.error?.name).toBe('MigrationNotRecordedError');
      expect(outcome.error?.message).toMatch(/^Migration 0004_no_history\.sql ran, but its history row is missing from _titan_migrations: what it changed may be in the database without a record/);
      expect(sql("SELECT to_regclass('trust_unrecorded') IS NOT NULL")).toBe('t');
      expect(sql("SELECT count(*) FROM _titan_migrations WHERE file = '0004_no_history.sql'")).toBe('0');
      expect(currentOf(appDir)).toBe(`releases/${releaseB.id}`);
      const last = journalOf(appDir).at(-1);
      expect(last).toMatchObject({ result: 'failed', release: release.id });
      expect(String(last?.['reason'])).toContain('history row is missing');
    } finally {
      sql('DROP RULE IF EXISTS trust_no_history ON _titan_migrations');
      sql('DROP TABLE IF EXISTS trust_unrecorded');
    }
  });

  it('a key moved to trust/revoked/ verifies nothing: no deploy signed by it, and no revert back to a release it signed', async () => {
    const second = generateReleaseKey();
    const secondId = releaseKeyId(second.publicKey);
    const pem = join(appDir, 'trust', `${secondId}.pem`);
    writeFileSync(pem, publicKeyToPem(second.publicKey), { mode: 0o644 });
    const byIt = await signTestRelease({ signingKey: second, createdAt: new Date(Date.now() + 20_000) });
    const deployed = await deploy(byIt.dir);
    expect(deployed.error?.message).toBeUndefined();
    expect(deployed.result).toBe('deployed');

    mkdirSync(join(appDir, 'trust', 'revoked'), { recursive: true });
    renameSync(pem, join(appDir, 'trust', 'revoked', `${secondId}.pem`));
    const again = await signTestRelease({ signingKey: second, createdAt: new Date(Date.now() + 30_000) });
    const refused = await deploy(again.dir);
    expect(refused.result).toBe('failed');
    expect(refused.error?.message).toContain(`manifest.json names key ${secondId}, which is revoked (${appDir}/trust/revoked/${secondId}.pem)`);
    expect(currentOf(appDir)).toBe(`releases/${byIt.manifest.releaseId}`);

    // A release that fails after its switch would return to the one the revoked key signed: the revert
    // verifies it again first, refuses it, and leaves the failed release current with nothing stopped.
    const broken = await signTestRelease({ digests: { 'titan-hunter': buildVariant('titan-hunter', 'trust-broken', { BROKEN: '1' }) }, createdAt: new Date(Date.now() + 40_000) });
    const outcome = await deploy(broken.dir, { healthTimeoutSeconds: 15 });
    expect(outcome.result).toBe('failed');
    expect(outcome.log).toContain(`revert: releases/${byIt.manifest.releaseId} no longer verifies against trust/ (manifest.json names key ${secondId}, which is revoked`);
    expect(outcome.log).toContain('not returning to it');
    expect(currentOf(appDir)).toBe(`releases/${broken.manifest.releaseId}`);
    expect(testHost.releaseKeyId).not.toBe(secondId);
  });
});
