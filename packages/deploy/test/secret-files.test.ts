/**
 * Secrets as files, against the real test host: examples/titan's secrets overlay mounts the exchange
 * credentials from shared/secrets/ (written by scripts/test-host/up, 0600, the deploy user's) into
 * the services that trade. A deploy runs them (each container sees its files, nothing in its
 * environment); a secret file left 0644 or missing is refused before anything stops, naming the
 * file and never its content; verify reports a secret file's content found in the release folder
 * or in a container's log. One app folder and one compose project for the whole file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployRelease, type DeployOutcome } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/release/local-bundle';
import { HostLayout } from '@titan/host/host-layout';
import { SecretFilesError } from '@titan/host/secret-files';
import { recordingLogger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { verifyStack } from '@titan/verify/verify-stack';
import { bringDown, connectToHost, containerEnv, containerIds, currentOf, health, prepareAppDir, testHost } from './support/host-fixture.js';
import { signTestRelease } from './support/test-releases.js';

const PROJECT = 'secretfiles';
const appDir = prepareAppDir('secret-files');
const layout = new HostLayout(appDir);
const secretsDir = join(appDir, 'shared', 'secrets');
/** Who mounts what (examples/titan/docker-compose.secrets.yml). */
const MOUNTS: Record<string, string[]> = {
  'titan-execution': ['binance_api_key', 'binance_api_secret', 'bybit_api_key', 'bybit_api_secret'],
  'titan-scavenger': ['binance_api_key', 'binance_api_secret', 'bybit_api_key', 'bybit_api_secret'],
  'titan-hunter': ['binance_api_key', 'binance_api_secret'],
};
const SECRET_NAMES = ['binance_api_key', 'binance_api_secret', 'bybit_api_key', 'bybit_api_secret'];
let connection: SshConnection;

function secretOf(name: string): string {
  return readFileSync(join(secretsDir, name), 'utf8');
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function deploy(bundleDir: string): Promise<DeployOutcome & { log: string }> {
  const logger = recordingLogger();
  const outcome = await deployRelease(connection, {
    bundle: await readLocalBundle(bundleDir, []),
    layout,
    project: PROJECT,
    mode: 'DISARMED',
    healthTimeoutSeconds: 60,
    confirmTimeoutSeconds: 120,
    lockTimeoutSeconds: 10,
    keepReleases: 10,
    actor: 'secret-tester',
    runUrl: 'https://github.com/titan/titan/actions/runs/5151',
    logger,
    verifyPollMs: 1000,
  });
  return { ...outcome, log: logger.text() };
}

describe('secrets as files on the test host', () => {
  let first: { dir: string; id: string };
  let second: { dir: string; id: string };

  beforeAll(async () => {
    bringDown(PROJECT, appDir);
    const a = await signTestRelease();
    first = { dir: a.dir, id: a.manifest.releaseId };
    const b = await signTestRelease();
    second = { dir: b.dir, id: b.manifest.releaseId };
    ({ connection } = await connectToHost());
  });

  afterAll(async () => {
    await connection?.close();
    bringDown(PROJECT, appDir);
  });

  it('deploys the release with its secrets overlay: each trading service reads its secret files at /run/secrets, none reaches its environment, the host keeps them 0600 as the deploy user', async () => {
    const deployUid = Number(execFileSync('id', ['-u', testHost.user], { encoding: 'utf8' }).trim());
    for (const name of SECRET_NAMES) {
      const stat = statSync(join(secretsDir, name));
      expect(stat.mode & 0o777, name).toBe(0o600);
      expect(stat.uid, name).toBe(deployUid);
      expect(secretOf(name).length, name).toBeGreaterThanOrEqual(24);
    }
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);

    const outcome = await deploy(first.dir);
    expect(outcome.error?.message).toBeUndefined();
    expect(outcome.result).toBe('deployed');
    expect(currentOf(appDir)).toBe(`releases/${first.id}`);
    expect(outcome.verification?.healthy).toBe(true);
    expect(outcome.log).toContain('The 4 secret file(s) the release mounts are on the host');

    const ids = containerIds(PROJECT);
    for (const [service, names] of Object.entries(MOUNTS)) {
      const id = ids[service] ?? '';
      for (const name of names) {
        // Compared by digest in this process: the content is never printed.
        const seen = execFileSync('docker', ['exec', id, 'cat', `/run/secrets/${name}`], { encoding: 'utf8' });
        expect(sha256(seen), `${service} /run/secrets/${name}`).toBe(sha256(secretOf(name)));
      }
      const env = containerEnv(id);
      expect(Object.keys(env).filter((k) => /^(BINANCE|BYBIT)_API_(KEY|SECRET)$/.test(k)), service).toEqual([]);
      expect(env[`BINANCE_API_KEY_FILE`], service).toBe('/run/secrets/binance_api_key');
      for (const name of SECRET_NAMES) expect(Object.values(env).join('\n'), service).not.toContain(secretOf(name));
      // The stand-in reads each file at start; its health says error when one is missing or empty.
      expect(execFileSync('docker', ['logs', id], { encoding: 'utf8' })).toContain(`${names.length} secret file(s) read, health ok`);
    }
    // A service that mounts none has none.
    expect(execFileSync('docker', ['exec', ids['titan-brain'] ?? '', 'ls', '/run'], { encoding: 'utf8' })).not.toContain('secrets');
    expect((await health(3002))['status']).toBe('ok');
    for (const name of SECRET_NAMES) expect(outcome.log).not.toContain(secretOf(name));
  });

  it('refuses a release when a secret file is 0644 or missing, before anything stops, naming each file and never its content', async () => {
    const before = containerIds(PROJECT);
    const loose = join(secretsDir, 'binance_api_secret');
    const missing = join(secretsDir, 'bybit_api_key');
    chmodSync(loose, 0o644);
    renameSync(missing, `${missing}.away`);
    try {
      const outcome = await deploy(second.dir);
      expect(outcome.result).toBe('failed');
      expect(outcome.error).toBeInstanceOf(SecretFilesError);
      expect(outcome.error?.message).toContain(`${appDir}/shared/secrets/binance_api_secret has mode 0644 (it must be 0600 or 0400: readable by the deploy user only)`);
      expect(outcome.error?.message).toContain(`${appDir}/shared/secrets/bybit_api_key is missing`);
      expect(outcome.error?.message).toContain('Nothing was stopped or changed.');
      expect(outcome.error?.message).not.toContain(secretOf('binance_api_secret'));
      expect(outcome.log).not.toContain(secretOf('binance_api_secret'));
      // Nothing stopped, nothing switched, the release not even installed.
      expect(containerIds(PROJECT)).toEqual(before);
      expect(currentOf(appDir)).toBe(`releases/${first.id}`);
      expect(() => statSync(join(appDir, 'releases', second.id))).toThrow();
      expect((await health(3002))['status']).toBe('ok');

      // Only the missing one left: still refused, for that file alone.
      chmodSync(loose, 0o600);
      const again = await deploy(second.dir);
      expect(again.result).toBe('failed');
      expect((again.error as SecretFilesError).problems).toEqual([{ path: 'shared/secrets/bybit_api_key', problem: 'is missing' }]);
    } finally {
      chmodSync(loose, 0o600);
      renameSync(`${missing}.away`, missing);
    }
    // With the files kept as they must be, the same release goes through.
    const fixed = await deploy(second.dir);
    expect(fixed.error?.message).toBeUndefined();
    expect(fixed.result).toBe('deployed');
  });

  it('verify reports a secret file\'s content found in the release folder or a container\'s log, naming the file and the place, never the content', async () => {
    const current = `releases/${second.id}`;
    const leak = join(appDir, current, 'config', 'debug-dump.txt');
    const hunter = containerIds(PROJECT)['titan-hunter'] ?? '';
    writeFileSync(leak, `key=${secretOf('binance_api_key')}\n`);
    // The service prints its credential to its own log (PID 1's standard output), as a careless service would.
    execFileSync('docker', ['exec', hunter, 'sh', '-c', '{ cat /run/secrets/binance_api_secret; echo; } > /proc/1/fd/1']);
    try {
      const logger = recordingLogger();
      const { manifest } = await readLocalBundle(second.dir, []);
      const report = await verifyStack(connection, { appDir, project: PROJECT, manifest, timeoutMs: 20_000, pollMs: 500, logger });
      expect(report.healthy).toBe(false);
      const secretFailures = report.failures.filter((f) => f.check.startsWith('secret'));
      expect(secretFailures).toEqual([
        { service: 'host', check: 'secret-exposure', detail: `the content of shared/secrets/binance_api_key is in the release file ${current}/config/debug-dump.txt` },
        { service: 'host', check: 'secret-exposure', detail: `the content of shared/secrets/binance_api_secret is in the log of container titan-hunter (${hunter.slice(0, 12)})` },
      ]);
      const shown = JSON.stringify(report) + logger.text();
      for (const name of SECRET_NAMES) expect(shown).not.toContain(secretOf(name));
    } finally {
      rmSync(leak, { force: true });
    }
  });
});
