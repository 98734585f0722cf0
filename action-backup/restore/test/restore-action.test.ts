/**
 * action-backup/restore's committed bundle against the test host's stack and a real S3 peer: a
 * backup taken by action-backup restored into a new database beside the stack's own and checked
 * table by table; the latest complete backup chosen over a newer incomplete one; an incomplete
 * backup refused by name; an object damaged at rest caught before anything is kept; a wrong key.
 */
import * as age from 'age-encryption';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ActionRun, runActionBundle } from '@titan/test-host/action-run';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import type { ObjectStore } from '@titan/spaces/object-store';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { appDir, connectionInputs, containerName, docker, ensureStack, envValue, natsUrl, psql, redisCli, runBackup, RUNNER_ENV, SEED, stackSecrets } from '../../test/support/backup-stack.js';
import { readManifest, spacesInputs, storeOf } from '../../test/support/spaces-check.js';

const PREFIX = 'titan/restore-tests';
let peer: SpacesPeer;
let store: ObjectStore;
let identity: string;
let backupId: string;

function restore(inputs: Record<string, string>): Promise<ActionRun> {
  return runActionBundle('action-backup/restore', { inputs: { ...connectionInputs(), ...spacesInputs(peer, PREFIX), 'restore-key': identity, ...inputs }, env: RUNNER_ENV, timeoutMs: 280_000 });
}

function databases(): string[] {
  return psql("SELECT datname FROM pg_database WHERE datname LIKE 'titan%' ORDER BY 1").split('\n').filter((l) => l !== '');
}

function dropRestored(): void {
  for (const name of databases().filter((d) => d !== 'titan')) psql(`DROP DATABASE "${name}"`, 'postgres');
}

function expectNoSecret(run: ActionRun): void {
  const seen = `${run.log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')}\n${run.outputText}\n${run.summary}`;
  for (const secret of [...stackSecrets(), identity]) if (secret.length >= 12) expect(seen.includes(secret)).toBe(false);
}

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  store = storeOf(peer);
  identity = await age.generateIdentity();
  const run = await runBackup({
    ...spacesInputs(peer, PREFIX),
    'age-recipients': await age.identityToRecipient(identity),
    parts: 'postgres',
    verify: 'off',
    'nats-url': natsUrl,
    'nats-password': envValue('NATS_BACKUP_PASSWORD'),
  });
  if (run.status !== 0) throw new Error(`the backup to restore failed:\n${run.log}`);
  backupId = run.outputs['backup-id'] ?? '';
}, 400_000);
afterEach(() => dropRestored());
afterAll(async () => {
  await peer.close();
});

describe('action-backup/restore', () => {
  it('restores the latest complete backup into a new database, checked table by table; the stack\'s own is untouched', async () => {
    // A newer backup folder without manifest (an incomplete one) must be passed over.
    await store.putObject(`${PREFIX}/29991231T235959Z-ffffff/postgres/titan.dump.age`, Buffer.from('half a dump'));
    const ownBefore = psql('SELECT count(*) FROM trade_order');
    const brainStarted = docker(['inspect', '--format', '{{.State.StartedAt}}', containerName('titan-brain')]);
    const journalBefore = readFileSync(join(appDir, 'journal.jsonl'), 'utf8');
    // Every input of a restore into the stack but target: the stack is not what it restores into.
    const run = await restore({ parts: 'postgres redis jetstream', 'nats-url': natsUrl, 'nats-user': 'brain', 'nats-password': envValue('NATS_BRAIN_PASSWORD') });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('restored');
    expect(run.outputs['backup-id']).toBe(backupId);
    const database = run.outputs['database'] ?? '';
    expect(database).toBe(`titan_restore_${backupId.slice(0, 8)}_${backupId.slice(9, 15)}`);
    expect(psql('SELECT count(*) FROM trade_order', database)).toBe(String(SEED.orders));
    expect(psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()", database)).toBe('titan');
    expect(psql('SELECT count(*) FROM trade_order')).toBe(ownBefore);
    expect(docker(['inspect', '--format', '{{.State.StartedAt}}', containerName('titan-brain')])).toBe(brainStarted);
    expect(readFileSync(join(appDir, 'journal.jsonl'), 'utf8')).toBe(journalBefore);
    expect(run.summary).toContain(`restored into ${database.replace(/_/g, '\\_')}`);
    expect(run.summary).toContain('public.trade\\_order');
    expectNoSecret(run);
    const again = await restore({ backup: backupId, database });
    expect(again.status).toBe(1);
    expect(again.log).toContain(`database ${database} already exists; a restore never writes into an existing database`);
    dropRestored();
  });

  it('refuses an incomplete backup by name: no manifest, no restore', async () => {
    const run = await restore({ backup: '29991231T235959Z-ffffff' });
    expect(run.status).toBe(1);
    expect(run.log).toContain('Backup 29991231T235959Z-ffffff is incomplete: it has no manifest');
    expect(databases()).toEqual(['titan']);
  });

  it('an object damaged at rest is caught: a clear error naming it, no database kept', async () => {
    const manifest = await readManifest(store, `${PREFIX}/${backupId}/manifest.json`);
    const dump = manifest.objects.find((o) => o.part === 'postgres');
    if (dump === undefined) throw new Error('no dump in the manifest');
    peer.corrupt(dump.key, Math.floor(dump.size / 2));
    const run = await restore({ backup: backupId });
    expect(run.status).toBe(1);
    expect(run.log).toMatch(new RegExp(`${dump.key.replace(/\//g, '\\/')} is damaged: ${dump.size} bytes with sha256 [0-9a-f]{64}, the manifest says ${dump.size} bytes with sha256 ${dump.sha256}`));
    expect(databases()).toEqual(['titan']);
    peer.corrupt(dump.key, Math.floor(dump.size / 2));
    // Flipped back: whole again, and it restores.
    const whole = await restore({ backup: backupId, database: 'titan_after_repair' });
    expect(whole.status, whole.log).toBe(0);
    dropRestored();
  });

  it('a key that is not among the recipients is refused before anything is created', async () => {
    const stranger = await age.generateIdentity();
    const run = await runActionBundle('action-backup/restore', { inputs: { ...connectionInputs(), ...spacesInputs(peer, PREFIX), backup: backupId, 'restore-key': stranger }, env: RUNNER_ENV });
    expect(run.status).toBe(1);
    expect(run.log).toMatch(/cannot be decrypted with the given identity/);
    expect(run.log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n').includes(stranger)).toBe(false);
    expect(databases()).toEqual(['titan']);
  });

  it('target stack: trading stopped, the database swapped (the old one kept), Redis and the streams put back, the stack started DISARMED; a migration the backup predates applied to it first', async () => {
    // The database as it was before the release's last migration: its tables, its column and its
    // history row gone. The backup of it predates that migration, which the running release ships.
    const last = '0003_risk_and_audit.sql';
    psql(`BEGIN; DROP TABLE mode_history; DROP TABLE operator_command; DROP TABLE risk_event; ALTER TABLE trade_order DROP COLUMN policy_hash;
          DELETE FROM _titan_migrations WHERE file = '${last}'; COMMIT;`);
    const full = await runBackup({
      ...spacesInputs(peer, PREFIX),
      'age-recipients': await age.identityToRecipient(identity),
      verify: 'off',
      retention: 'false',
      'nats-url': natsUrl,
      'nats-password': envValue('NATS_BACKUP_PASSWORD'),
    });
    expect(full.status, full.log).toBe(0);
    const id = full.outputs['backup-id'] ?? '';
    // Life goes on after the backup: orders, keys and messages the restore must take back.
    psql(`INSERT INTO trade_order (client_order_id, account_id, instrument_id, strategy, side, order_type, quantity, limit_price)
          SELECT 'after-backup-' || g, 1, (SELECT min(id) FROM instrument), 'manual', 'BUY', 'LIMIT', 1, 1 FROM generate_series(1, 10) g`);
    redisCli(['DEL', 'titan:test:1', 'titan:test:2', 'titan:test:3']);
    const nc = await connect({ servers: natsUrl, user: 'brain', pass: envValue('NATS_BRAIN_PASSWORD') });
    for (let i = 0; i < 5; i++) nc.publish('titan.evt.orders.late', 'late');
    await nc.flush();
    expect((await (await jetstreamManager(nc)).streams.info('ORDERS')).state.messages).toBe(SEED.streams.ORDERS + 5);

    const run = await restore({ backup: id, target: 'stack', 'nats-url': natsUrl, 'nats-user': 'brain', 'nats-password': envValue('NATS_BRAIN_PASSWORD'), 'lock-timeout': '60' });
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['result']).toBe('restored');
    expect(psql('SELECT count(*) FROM trade_order')).toBe(String(SEED.orders));
    const kept = `titan_pre_restore_${id.slice(0, 8)}_${id.slice(9, 15)}`;
    expect(psql('SELECT count(*) FROM trade_order', kept)).toBe(String(SEED.orders + 10));
    expect(redisCli(['DBSIZE'])).toBe(String(SEED.redisKeys));
    expect((await (await jetstreamManager(nc)).streams.info('ORDERS')).state.messages).toBe(SEED.streams.ORDERS);
    await nc.close();
    // Started again DISARMED, and says so on the host.
    expect(readFileSync(join(appDir, 'state', 'mode'), 'utf8').trim()).toBe('DISARMED');
    const env = docker(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', containerName('titan-brain')]);
    expect(env).toContain('TITAN_MODE=DISARMED');
    expect(docker(['inspect', '--format', '{{.State.Running}}', containerName('titan-brain')]).trim()).toBe('true');
    // The migration the backup predates was applied to the restored database, under the running release.
    const running = readFileSync(join(appDir, 'current', 'manifest.json'), 'utf8');
    const releaseId = (JSON.parse(running) as { releaseId: string }).releaseId;
    expect(psql(`SELECT release FROM _titan_migrations WHERE file = '${last}'`)).toBe(releaseId);
    expect(psql("SELECT count(*) FROM _titan_migrations")).toBe('3');
    expect(psql("SELECT to_regclass('mode_history') IS NOT NULL AND to_regclass('risk_event') IS NOT NULL")).toBe('t');
    expect(psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'trade_order' AND column_name = 'policy_hash'")).toBe('1');
    expect(psql("SELECT to_regclass('mode_history') IS NULL", kept)).toBe('t');
    expect(run.log).toContain(`before 1 of release ${releaseId}'s migrations: ${last}`);
    const journal = JSON.parse(readFileSync(join(appDir, 'journal.jsonl'), 'utf8').trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(journal).toMatchObject({ action: 'restore', result: 'restored', backup: id, mode: 'DISARMED', migrationsApplied: [last] });
    expect(run.summary).toContain('DISARMED');
    // The summary's table (Markdown: its underscores escaped).
    expect(run.summary).toContain(`| **migrations the backup predates, applied to it** | ${last.replace(/_/g, '\\_')} |`);
    expectNoSecret(run);
  }, 300_000);
});
