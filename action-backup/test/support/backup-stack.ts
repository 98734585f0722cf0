/**
 * A Titan stack of the backup tests' own on the real test host (scripts/test-host/up): an app folder
 * laid out as provisioning does it, a release signed from a copy of examples/titan (ports 10000
 * higher: NATS on 14222) with the test host's key and image digests, deployed by action-deploy's
 * committed bundle, then filled with data generated inside the stack itself: more than 100 MB of
 * orders in Postgres, keys in Redis, three JetStream streams. A file finding that stack already up
 * and filled (an earlier file of the same run) uses it as it is; otherwise it builds it.
 * Tests run as root on the same machine: they read the host's files and Docker directly.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import { copySharedValues } from '@titan/test-host/shared-values';

export const PROJECT = 'titanbackup';
export const PORT_OFFSET = 10_000;
export const host: TestHost = loadTestHost();
export const appDir = join(host.stateDir, 'opt', PROJECT);
export const natsPort = 4222 + PORT_OFFSET;
export const natsUrl = `127.0.0.1:${natsPort}`;
/** What seed() puts in: rows of trade_order, Redis keys, messages per stream. */
export const SEED = { orders: 450_000, redisKeys: 5000, streams: { FILLS: 1500, ORDERS: 600, SIGNALS: 40 } } as const;

export function docker(args: readonly string[], input?: string): string {
  return execFileSync('docker', [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

export function containerName(service: string): string {
  return `${PROJECT}_${service}_1`;
}

/** A value of the app folder's production values file (a secret: never print it). */
export function envValue(name: string): string {
  const line = readFileSync(join(appDir, 'shared', '.env.prod'), 'utf8').split('\n').find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`${name} is not in ${appDir}/shared/.env.prod`);
  return line.slice(name.length + 1);
}

/** psql as the titan role in the stack's postgres container; -At output. */
export function psql(sql: string, database = 'titan'): string {
  return docker(['exec', '-i', containerName('postgres'), 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'titan', '-d', database], sql).trim();
}

export function redisCli(args: readonly string[]): string {
  return docker(['exec', containerName('redis'), 'sh', '-c', 'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli --no-auth-warning "$@"', 'redis-cli', ...args]).trim();
}

function running(service: string): boolean {
  try {
    return docker(['inspect', '--format', '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', containerName(service)]).trim() === 'true healthy';
  } catch {
    return false;
  }
}

function ids(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim()),
  };
}

function bringDown(): void {
  const containers = docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`]).split('\n').filter((l) => l !== '');
  if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
  const volumes = docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]).split('\n').filter((l) => l !== '');
  if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes]);
}

async function deployFresh(): Promise<void> {
  bringDown();
  rmSync(appDir, { recursive: true, force: true });
  const { uid, gid } = ids();
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  copySharedValues(host, appDir);
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0750', appDir]);

  const work = mkdtempSync(join(tmpdir(), 'titan-backup-stack-'));
  const source = join(work, 'titan');
  cpSync(host.example, source, { recursive: true });
  const prod = join(source, 'docker-compose.prod.yml');
  const text = readFileSync(prod, 'utf8');
  const shifted = text.replace(/"127\.0\.0\.1:(\d+):(\d+)"/g, (_all, hostPort: string, port: string) => `"127.0.0.1:${Number(hostPort) + PORT_OFFSET}:${port}"`);
  if (shifted === text) throw new Error(`${prod}: no "127.0.0.1:<port>:<port>" mapping to move; has examples/titan changed?`);
  writeFileSync(prod, shifted);
  const release = await signRelease(
    {
      source,
      selection: { digests: new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)])) },
      signingKey: parseReleaseKey(readReleaseKey(host)),
      keyId: host.releaseKeyId,
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/9100',
      createdAt: new Date(),
      output: mkdtempSync(join(work, 'bundle-')),
    },
    silentLogger,
  );
  const run = await runActionBundle('action-deploy', {
    inputs: { ...connectionInputs(), bundle: release.dir, 'health-timeout': '120', 'lock-timeout': '60' },
    env: RUNNER_ENV,
    timeoutMs: 280_000,
  });
  rmSync(work, { recursive: true, force: true });
  if (run.status !== 0 || run.outputs['result'] !== 'deployed') throw new Error(`action-deploy did not deploy the backup tests' stack (exit ${run.status}):\n${run.log}`);
}

/** Generates the data inside the stack: orders in Postgres, keys in Redis, messages in three streams. */
async function seed(): Promise<void> {
  psql(`
    INSERT INTO venue_account (venue, label) VALUES ('binance', 'main'), ('bybit', 'hedge');
    INSERT INTO instrument (venue, symbol, base_asset, quote_asset, tick_size, lot_size)
      SELECT 'binance', 'SYM' || g || 'USDT', 'SYM' || g, 'USDT', 0.01, 0.001 FROM generate_series(1, 50) g;
    INSERT INTO trade_order (client_order_id, account_id, instrument_id, strategy, side, order_type, quantity, limit_price, status, venue_order_id)
      SELECT md5(g::text) || md5((g * 31)::text), 1 + g % 2, (SELECT min(id) FROM instrument) + g % 50,
             (ARRAY['scavenger', 'hunter', 'sentinel', 'manual'])[1 + g % 4], CASE WHEN g % 2 = 0 THEN 'BUY' ELSE 'SELL' END,
             'LIMIT', 1 + (g % 1000) / 7.0, 100 + (g % 5000) / 3.0, (ARRAY['NEW', 'OPEN', 'FILLED', 'CANCELED'])[1 + g % 4], 'v-' || g
      FROM generate_series(1, ${SEED.orders}) g;
    ANALYZE trade_order;`);
  redisCli(['EVAL', `for i = 1, ${SEED.redisKeys} do redis.call('SET', 'titan:test:' .. i, string.rep('v', 64) .. i) end return ${SEED.redisKeys}`, '0']);
  const nc = await connect({ servers: natsUrl, user: 'brain', pass: envValue('NATS_BRAIN_PASSWORD') });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    for (const [name, count] of Object.entries(SEED.streams)) {
      await jsm.streams.add({ name, subjects: [`titan.evt.${name.toLowerCase()}.>`] });
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) pending.push(js.publish(`titan.evt.${name.toLowerCase()}.x`, JSON.stringify({ i, at: Date.now(), pad: 'p'.repeat(300) })));
      await Promise.all(pending);
    }
    await jsm.consumers.add('ORDERS', { durable_name: 'titan-execution', ack_policy: 'explicit' });
  } finally {
    await nc.close();
  }
}

function seeded(): boolean {
  try {
    return psql('SELECT count(*) FROM trade_order') === String(SEED.orders) && redisCli(['DBSIZE']) === String(SEED.redisKeys);
  } catch {
    return false;
  }
}

/** The stack, up and filled: reused when an earlier file left it so, built otherwise. */
export async function ensureStack(): Promise<void> {
  const up = existsSync(join(appDir, 'current')) && ['postgres', 'redis', 'nats', 'titan-brain'].every(running);
  if (up && seeded()) return;
  await deployFresh();
  await seed();
  if (!seeded()) throw new Error('The backup tests\' stack did not take its data.');
}

export function connectionInputs(): Record<string, string> {
  return {
    host: host.host,
    port: String(host.port),
    user: host.user,
    'ssh-key': readFileSync(host.privateKeyPath, 'utf8'),
    'known-hosts': host.knownHosts,
    'app-dir': appDir,
    project: PROJECT,
  };
}

export const RUNNER_ENV = { GITHUB_ACTOR: 'backup-tester', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '9101' };

/** Every secret a backup run could see: none may appear in its log, outputs or summary. */
export function stackSecrets(): string[] {
  const env = readFileSync(join(appDir, 'shared', '.env.prod'), 'utf8');
  return env
    .split('\n')
    .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && /PASSWORD|SECRET|KEY/.test(m[1] ?? '') && (m[2] ?? '').length >= 12)
    .map((m) => m[2] ?? '');
}

export function runBackup(inputs: Record<string, string>, options: { onSpawn?: (pid: number) => void; timeoutMs?: number } = {}): Promise<ActionRun> {
  return runActionBundle('action-backup', { inputs: { ...connectionInputs(), ...inputs }, env: RUNNER_ENV, timeoutMs: options.timeoutMs ?? 280_000, ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}) });
}
