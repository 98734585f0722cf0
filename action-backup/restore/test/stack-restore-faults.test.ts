/**
 * action-backup/restore with target stack, when things go wrong, against the test host's stack and a
 * real S3 peer: a deploy holding the host's deploy lock, a stream snapshot damaged at rest, the
 * restore killed (SIGKILL, like a runner that dies) once it has stopped the trading. Each leaves the
 * stack's own data as it was (database, Redis keys, stream messages), nothing of the restore's own
 * behind, and the stack running or startable: a restore run again completes and starts it DISARMED;
 * and a third restore of the same backup is refused, since what the second kept is in the way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionRun, runActionBundle, startActionBundle } from '@titan/test-host/action-run';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { appDir, connectionInputs, containerName, docker, ensureStack, envValue, natsUrl, psql, redisCli, runBackup, RUNNER_ENV, SEED } from '../../test/support/backup-stack.js';
import { readManifest, spacesInputs, storeOf } from '../../test/support/spaces-check.js';

const PREFIX = 'titan/stack-restore-faults';
let peer: SpacesPeer;
let identity: string;
let backupId: string;
/** What the stack held when the backup was taken. */
let atBackup: { orders: string; redisKeys: string; streams: Record<string, number> };

function stackInputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...connectionInputs(),
    ...spacesInputs(peer, PREFIX),
    'restore-key': identity,
    backup: backupId,
    target: 'stack',
    'nats-url': natsUrl,
    'nats-user': 'brain',
    'nats-password': envValue('NATS_BRAIN_PASSWORD'),
    ...extra,
  };
}

function restore(extra: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle('action-backup/restore', { inputs: stackInputs(extra), env: RUNNER_ENV, timeoutMs: 280_000 });
}

async function streamCounts(): Promise<Record<string, number>> {
  const nc = await connect({ servers: natsUrl, user: 'brain', pass: envValue('NATS_BRAIN_PASSWORD') });
  try {
    const jsm = await jetstreamManager(nc);
    const counts: Record<string, number> = {};
    for (const name of Object.keys(SEED.streams)) counts[name] = (await jsm.streams.info(name)).state.messages;
    return counts;
  } finally {
    await nc.close();
  }
}

function startedAt(service: string): string {
  return docker(['inspect', '--format', '{{.State.StartedAt}}', containerName(service)]).trim();
}

/** What the stack holds and runs: what a failed restore must leave as it was. */
async function stackState(): Promise<Record<string, unknown>> {
  return {
    orders: psql('SELECT count(*) FROM trade_order'),
    lastOrder: psql('SELECT max(client_order_id) FROM trade_order'),
    redisKeys: redisCli(['DBSIZE']),
    streams: await streamCounts(),
    databases: psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'titan%'"),
    staged: docker(['exec', containerName('redis'), 'sh', '-c', 'ls -a /data | grep titan-restore || true']).trim(),
  };
}

function mode(): string | undefined {
  const file = join(appDir, 'state', 'mode');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  identity = await age.generateIdentity();
  const run = await runBackup({
    ...spacesInputs(peer, PREFIX),
    'age-recipients': await age.identityToRecipient(identity),
    verify: 'off',
    retention: 'false',
    'nats-url': natsUrl,
    'nats-password': envValue('NATS_BACKUP_PASSWORD'),
  });
  if (run.status !== 0) throw new Error(`the backup to restore failed:\n${run.log}`);
  backupId = run.outputs['backup-id'] ?? '';
  atBackup = { orders: psql('SELECT count(*) FROM trade_order'), redisKeys: redisCli(['DBSIZE']), streams: await streamCounts() };
  // Life goes on after the backup: a restore that failed must leave these as they are.
  psql(`INSERT INTO trade_order (client_order_id, account_id, instrument_id, strategy, side, order_type, quantity, limit_price)
        SELECT 'zz-after-backup-' || g, 1, (SELECT min(id) FROM instrument), 'manual', 'BUY', 'LIMIT', 1, 1 FROM generate_series(1, 7) g`);
  redisCli(['SET', 'titan:after-backup', '1']);
  const nc = await connect({ servers: natsUrl, user: 'brain', pass: envValue('NATS_BRAIN_PASSWORD') });
  for (let i = 0; i < 3; i++) nc.publish('titan.evt.fills.late', 'late');
  await nc.flush();
  await nc.close();
}, 400_000);
afterAll(async () => {
  await peer.close();
});

describe('action-backup/restore target stack, faults', () => {
  it('a deploy holding the deploy lock: refused after lock-timeout, naming the lock, nothing stopped or changed', async () => {
    const before = await stackState();
    const brainStarted = startedAt('titan-brain');
    const modeBefore = mode();
    rmSync(join(appDir, '.deploy.lock.holder'), { force: true });
    // flock hands the lock's descriptor to sleep: the whole process group is ended afterwards.
    const holder: ChildProcess = spawn('flock', ['-x', join(appDir, '.deploy.lock'), 'sleep', '300'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const run = await restore({ 'lock-timeout': '3' });
      expect(run.status).toBe(1);
      expect(run.outputs['result']).toBe('failed');
      expect(run.log).toMatch(/The deploy lock on .* is held by .*waited 3 s \(lock-timeout\)/);
      expect(run.summary).toContain('❌ Restore on');
      expect(await stackState()).toEqual(before);
      expect(startedAt('titan-brain')).toBe(brainStarted);
      expect(mode()).toBe(modeBefore);
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
  }, 200_000);

  it('a stream snapshot damaged at rest: caught before the trading stops; the new database dropped, the staged RDB removed, nothing changed', async () => {
    const before = await stackState();
    const brainStarted = startedAt('titan-brain');
    const manifest = await readManifest(storeOf(peer), `${PREFIX}/${backupId}/manifest.json`);
    const snapshot = manifest.objects.find((o) => o.part === 'jetstream' && o.name === 'FILLS');
    if (snapshot === undefined) throw new Error('no FILLS snapshot in the manifest');
    peer.corrupt(snapshot.key, Math.floor(snapshot.size / 2));
    try {
      const run = await restore({ 'lock-timeout': '60' });
      expect(run.status).toBe(1);
      expect(run.log).toMatch(new RegExp(`${snapshot.key.replace(/\//g, '\\/')} (is damaged|decrypts to|cannot be read back)`));
      expect(run.log).not.toContain('::group::Stop the Titan services in order');
      expect(await stackState()).toEqual(before);
      expect(startedAt('titan-brain')).toBe(brainStarted);
      const last = JSON.parse(readFileSync(join(appDir, 'journal.jsonl'), 'utf8').trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      expect(last).toMatchObject({ action: 'restore', result: 'failed', backup: backupId, mode: null, kept: [] });
    } finally {
      peer.corrupt(snapshot.key, Math.floor(snapshot.size / 2));
    }
  }, 300_000);

  it('a backup whose history has a migration the running release does not ship: refused before the trading stops, naming it; nothing changed', async () => {
    // A backup taken under a newer release: its database records a migration this release lacks.
    const newer = '0004_from_a_newer_release.sql';
    psql(`INSERT INTO _titan_migrations (file, sha256, release) VALUES ('${newer}', repeat('ab', 32), 'newer-release')`);
    let newerBackup: string;
    try {
      const taken = await runBackup({ ...spacesInputs(peer, PREFIX), 'age-recipients': await age.identityToRecipient(identity), parts: 'postgres', verify: 'off', retention: 'false' });
      expect(taken.status, taken.log).toBe(0);
      newerBackup = taken.outputs['backup-id'] ?? '';
    } finally {
      psql(`DELETE FROM _titan_migrations WHERE file = '${newer}'`);
    }
    const before = await stackState();
    const brainStarted = startedAt('titan-brain');
    const run = await restore({ backup: newerBackup, parts: 'postgres', 'lock-timeout': '60' });
    expect(run.status).toBe(1);
    expect(run.outputs['result']).toBe('failed');
    expect(run.log).toMatch(new RegExp(`Backup ${newerBackup} \\(taken under release [^)]+\\) does not match the migrations of the running release [^:]+: ${newer.replace(/\./g, '\\.')} was applied .* but the release no longer ships it`));
    expect(run.log).toContain('Nothing was stopped.');
    expect(run.log).not.toContain('::group::Stop the Titan services in order');
    expect(run.summary).toContain(`${newer.replace(/_/g, '\\_')} was applied`);
    // The restored copy is dropped again; the stack's database, Redis and streams as they were.
    expect(await stackState()).toEqual(before);
    expect(startedAt('titan-brain')).toBe(brainStarted);
    expect(psql(`SELECT count(*) FROM _titan_migrations WHERE file = '${newer}'`)).toBe('0');
  }, 300_000);

  it('killed once the trading stopped: the stack\'s data as it was, the lock free; run again, it restores and starts the stack DISARMED', async () => {
    const before = await stackState();
    const running = await startActionBundle('action-backup/restore', { inputs: stackInputs({ 'lock-timeout': '60' }), env: RUNNER_ENV, timeoutMs: 280_000 });
    for (let i = 0; i < 2400 && !running.log().includes('::group::Stop the Titan services in order'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(running.log()).toContain('::group::Stop the Titan services in order');
    running.kill('SIGKILL');
    const killed = await running.result;
    expect(killed.signal).toBe('SIGKILL');
    // The host ends what the dead run started; its data is the stack's own, untouched.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = await stackState();
    expect({ ...after, databases: undefined, staged: undefined }).toEqual({ ...before, databases: undefined, staged: undefined });
    expect(String(after['databases']).split(',').filter((d) => d.includes('_pre_restore_'))).toEqual([]);

    const again = await restore({ 'lock-timeout': '90' });
    expect(again.status, again.log).toBe(0);
    expect(again.outputs['result']).toBe('restored');
    expect(psql('SELECT count(*) FROM trade_order')).toBe(atBackup.orders);
    expect(redisCli(['DBSIZE'])).toBe(atBackup.redisKeys);
    expect(await streamCounts()).toEqual(atBackup.streams);
    const stamp = `${backupId.slice(0, 8)}_${backupId.slice(9, 15)}`;
    expect(psql('SELECT count(*) FROM trade_order', `titan_pre_restore_${stamp}`)).toBe(String(Number(atBackup.orders) + 7));
    expect(psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'titan_incoming_%'")).toBe('0');
    // The streams it replaced are kept on the host, whole: FILLS with the 3 late messages.
    const kept = join(appDir, 'state', `pre-restore-${stamp}`, 'jetstream', 'FILLS.snapshot');
    const [magic, header] = readFileSync(kept).subarray(0, 64 * 1024).toString('latin1').split('\n');
    expect(magic).toBe('titan-jetstream-snapshot/1');
    expect((JSON.parse(header ?? '{}') as { state: { messages: number } }).state.messages).toBe((atBackup.streams['FILLS'] ?? 0) + 3);
    expect(again.summary).toContain('FILLS.snapshot');
    expect(mode()).toBe('DISARMED');
    expect(docker(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', containerName('titan-brain')])).toContain('TITAN_MODE=DISARMED');
    expect(docker(['inspect', '--format', '{{.State.Running}}', containerName('titan-brain')]).trim()).toBe('true');
    // The same backup once more: what this restore kept is in the way, and a restore never overwrites it.
    const third = await restore({ 'lock-timeout': '60' });
    expect(third.status).toBe(1);
    expect(third.log).toContain(`Backup ${backupId} was restored into this stack before`);
    expect(third.log).toContain(`database titan_pre_restore_${stamp}`);
    expect(third.log).toMatch(new RegExp(`redis /data/(dump\\.rdb|appendonlydir)\\.pre-restore-${backupId}`));
    expect(third.log).toContain('FILLS.snapshot');
    expect(third.log).not.toContain('::group::Stop the Titan services in order');
    expect(redisCli(['DBSIZE'])).toBe(atBackup.redisKeys);
    for (const name of psql("SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'titan_%'").split(' ').filter((d) => d !== '')) psql(`DROP DATABASE "${name}"`, 'postgres');
    // The stack holds the backup's data now: the files that use the stack later see it as seeded.
  }, 900_000);
});
