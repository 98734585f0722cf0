/**
 * action-backup's committed bundle, run as a runner runs it, against the test host's own stack
 * (Postgres with > 100 MB of orders, Redis, three JetStream streams) and a real S3 peer: what is
 * stored is read back and hashed, decrypted with the test's identity and checked with pg_restore;
 * and the faults: pg_dump killed half-way, a part Spaces keeps refusing with 500, the SSH connection
 * cut mid-stream, a wrong key, a missing bucket, an endpoint that does not answer, bad recipients.
 * After each: a clear error, nothing counted complete, nothing left in the bucket, nothing outside
 * the prefix touched, nothing left running on the host, no secret in the log.
 */
import { execFileSync } from 'node:child_process';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRun } from '@titan/test-host/action-run';
import { startActionBundle } from '@titan/test-host/action-run';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import type { ObjectStore } from '@titan/spaces/object-store';
import { appDir, connectionInputs, containerName, docker, ensureStack, envValue, host, natsUrl, psql, redisCli, runBackup, RUNNER_ENV, SEED, stackSecrets } from './support/backup-stack.js';
import { decrypted, plantOutsiders, readManifest, sha256, spacesInputs, storeOf } from './support/spaces-check.js';

const PREFIX = 'titan/backups';
let peer: SpacesPeer;
let store: ObjectStore;
let identity: string;
let recipient: string;
let verifyIdentity: string;
let verifyRecipient: string;
let outsiders: Awaited<ReturnType<typeof plantOutsiders>>;

/** The stack's own images run the throwaway containers here (no registry outside): the host's binaries, mounted. */
function verifyInputs(): Record<string, string> {
  const uid = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
  const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
  return {
    'verify-key': verifyIdentity,
    'verify-postgres-image': host.images['postgres'] ?? '',
    'verify-redis-image': host.images['redis'] ?? '',
    'verify-nats-image': host.images['nats'] ?? '',
    'verify-docker-options': ['--volume=/usr:/usr:ro', '--volume=/etc:/etc:ro', `--user=${uid}:${gid}`].join('\n'),
  };
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...spacesInputs(peer, PREFIX),
    'age-recipients': `${recipient}\n${verifyRecipient}`,
    verify: 'off',
    'nats-url': natsUrl,
    'nats-password': envValue('NATS_BACKUP_PASSWORD'),
    ...extra,
  };
}

/** The log as a runner shows it: `::add-mask::` lines are commands to the runner (it masks those values), never shown. */
function shown(log: string): string {
  return log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
}

function expectNoSecret(run: ActionRun): void {
  const seen = `${shown(run.log)}\n${run.outputText}\n${run.summary}`;
  for (const secret of [...stackSecrets(), identity, verifyIdentity, connectionInputs()['ssh-key'] ?? '']) {
    if (secret.length >= 12) expect(seen.includes(secret), 'a secret appears in the log, outputs or summary').toBe(false);
  }
}

/** Nothing of a failed backup is left on the host: no pg_dump, no snapshot session, no work folder. */
async function expectHostClean(): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    const processes = docker(['exec', containerName('postgres'), 'ps', '-eo', 'comm=']).split('\n').filter((c) => c === 'pg_dump' || c === 'psql');
    const dirs = docker(['exec', containerName('postgres'), 'sh', '-c', 'ls -d /tmp/titan-backup.* 2>/dev/null || true']).trim();
    let sessions: string;
    try {
      sessions = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'titan' AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'");
    } catch (error: unknown) {
      sessions = `unknown (${error instanceof Error ? error.message.split('\n')[1] ?? error.message : String(error)})`;
    }
    last = `processes: ${processes.join(',') || 'none'}; work dirs: ${dirs || 'none'}; open transactions: ${sessions}`;
    if (processes.length === 0 && dirs === '' && sessions === '0') {
      const log = execFileSync('docker', ['logs', '--since', '10m', containerName('postgres')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(log).not.toMatch(/was terminated by signal|terminating any other active server processes/);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the host is not clean after the failed backup: ${last}\npostgres log:\n${docker(['logs', '--tail', '25', containerName('postgres')])}`);
}

/** The manifests under the prefix (the complete backups), to compare before and after a run. */
async function manifests(): Promise<string[]> {
  return (await store.list(`${PREFIX}/`)).filter((e) => e.key.endsWith('/manifest.json')).map((e) => e.key);
}

async function expectNothingCounted(run: ActionRun, before: readonly string[]): Promise<void> {
  expect(run.status).toBe(1);
  expect(run.outputs['complete']).toBe('false');
  const id = run.outputs['backup-id'] ?? '';
  if (id !== '') expect(await store.list(`${PREFIX}/${id}/`)).toEqual([]);
  expect(peer.pendingUploads()).toEqual([]);
  expect(await manifests()).toEqual(before);
  expect(await outsiders.unchanged()).toBe(true);
  expectNoSecret(run);
}

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  store = storeOf(peer);
  identity = await age.generateIdentity();
  recipient = await age.identityToRecipient(identity);
  verifyIdentity = await age.generateIdentity();
  verifyRecipient = await age.identityToRecipient(verifyIdentity);
  outsiders = await plantOutsiders(store, PREFIX);
}, 400_000);
afterAll(async () => peer.close());
afterEach(() => peer.clearFaults());

describe('action-backup', () => {
  it('the stack holds more than 100 MB in Postgres', () => {
    expect(Number(psql("SELECT pg_database_size('titan')"))).toBeGreaterThan(100 * 1024 * 1024);
  });

  it('backs up Postgres, Redis and every stream encrypted, the manifest last; each object reads back with its sha256 and restores', async () => {
    const before = peer.requests.length;
    const run = await runBackup(inputs({ retention: 'false', verify: 'runner', ...verifyInputs() }));
    expect(run.status, run.log).toBe(0);
    expect(run.outputs['complete']).toBe('true');
    expect(run.outputs['verified']).toBe('true');
    const id = run.outputs['backup-id'] ?? '';
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const manifest = await readManifest(store, run.outputs['manifest-key'] ?? '');
    expect(manifest.backupId).toBe(id);
    expect(manifest.release?.id).toBe(readlinkSync(join(appDir, 'current')).replace('releases/', ''));
    expect(manifest.objects.map((o) => [o.part, o.name])).toEqual([
      ['postgres', 'titan'],
      ['redis', 'dump'],
      ['jetstream', 'FILLS'],
      ['jetstream', 'ORDERS'],
      ['jetstream', 'SIGNALS'],
    ]);
    for (const object of manifest.objects) {
      const stored = await store.getBytes(object.key, 512 * 1024 * 1024);
      expect(sha256(stored)).toBe(object.sha256);
      expect(stored.length).toBe(object.size);
      expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      const plain = await decrypted(stored, manifest.encryption, identity);
      expect(sha256(plain)).toBe(object.plainSha256);
      if (object.part === 'postgres') {
        // The dump itself is a pg_dump custom-format archive holding the orders.
        expect(plain.subarray(0, 5).toString()).toBe('PGDMP');
        const toc = execFileSync('docker', ['exec', '-i', containerName('postgres'), 'sh', '-c', 'pg_restore --list; cat >/dev/null'], { input: plain, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        expect(toc).toMatch(/TABLE DATA public trade_order/);
      }
      if (object.part === 'redis') expect(plain.subarray(0, 5).toString()).toBe('REDIS');
    }
    expect(manifest.postgres?.tables.find((t) => t.name === 'public.trade_order')).toMatchObject({ rows: SEED.orders });
    expect(manifest.postgres?.tables.find((t) => t.name === 'public.trade_order')?.checksum).toMatch(/^\d+$/);
    expect(manifest.redis?.keys).toBe(SEED.redisKeys);
    expect(manifest.jetstream?.streams.map((s) => [s.name, s.messages])).toEqual(Object.entries(SEED.streams).sort());
    expect(manifest.jetstream?.streams.find((s) => s.name === 'ORDERS')?.consumers).toBe(1);
    // Every part of every multipart upload carried a Content-MD5 that matched; the manifest came last.
    const seen = peer.requests.slice(before);
    const parts = seen.filter((r) => r.partNumber !== undefined);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((r) => r.md5Matched === true)).toBe(true);
    // The manifest is the last object of the backup written; only the proof's verdict comes after it.
    const writes = seen.filter((r) => r.method === 'PUT' || r.method === 'POST').map((r) => r.key);
    expect(writes.slice(-2)).toEqual([`${PREFIX}/${id}/manifest.json`, `${PREFIX}/${id}/verify.json`]);
    expect(run.summary).toContain(`Backup ${id} of ${host.host} is complete`);
    // The proof: what was uploaded, restored on the runner, matched the source table by table.
    expect(run.summary).toContain('Verified: what was uploaded restores');
    const report = JSON.parse((await store.getBytes(`${PREFIX}/${id}/verify.json`)).toString()) as { ok: boolean; postgres: { tables: { name: string; rows: number; ok: boolean }[] }; redis: { keys: number }; jetstream: { streams: { name: string; messages: number }[] } };
    expect(report.ok).toBe(true);
    expect(report.postgres.tables.find((t) => t.name === 'public.trade_order')).toMatchObject({ rows: SEED.orders, ok: true });
    expect(report.redis.keys).toBe(SEED.redisKeys);
    expect(report.jetstream.streams.map((s) => [s.name, s.messages])).toEqual(Object.entries(SEED.streams).sort());
    expect(docker(['ps', '-aq', '--filter', 'label=io.titan.scratch'])).toBe('');
    expect(run.summary).toContain('public.trade_order');
    expect(run.log).toMatch(/postgres titan: .* so far, .*\/s|postgres titan: .* in .* s \(/);
    expect(await outsiders.unchanged()).toBe(true);
    expectNoSecret(run);
  });

  it('a proof that cannot read what was uploaded fails the step, and says so; the backup itself stays complete', async () => {
    peer.failNext({ when: (r) => r.method === 'GET' && r.key.includes('/redis/'), status: 500, times: 100 });
    const run = await runBackup(inputs({ parts: 'redis', retention: 'false', verify: 'runner', ...verifyInputs() }));
    expect(run.status).toBe(1);
    expect(run.outputs['complete']).toBe('true');
    expect(run.outputs['verified']).toBe('false');
    expect(run.log).toMatch(/did NOT restore as it should: Redis: .*kept failing .*HTTP 500/);
    expect(run.summary).toContain('Verification FAILED');
    expect(docker(['ps', '-aq', '--filter', 'label=io.titan.scratch'])).toBe('');
    expectNoSecret(run);
  });

  it('pg_dump killed half-way: a clear error, the upload aborted, nothing stored, nothing left on the host', async () => {
    const key = (r: { key: string }): boolean => r.key.includes('/postgres/');
    const before = peer.requests.length;
    const complete = await manifests();
    const running = await startActionBundle('action-backup', { inputs: { ...connectionInputs(), ...inputs({ parts: 'postgres' }) }, env: RUNNER_ENV, timeoutMs: 200_000 });
    const deadline = Date.now() + 60_000;
    while (!peer.requests.slice(before).some((r) => key(r) && r.partNumber !== undefined)) {
      if (Date.now() > deadline) throw new Error(`no part of the dump arrived:\n${running.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    docker(['exec', containerName('postgres'), 'pkill', '-KILL', '-x', 'pg_dump']);
    const run = await running.result;
    await expectNothingCounted(run, complete);
    expect(run.log).toMatch(/exit (code )?137|signal KILL|killed/i);
    expect(run.summary).toContain('failed: nothing counts');
    await expectHostClean();
  });

  it('Spaces answering 500 on one part, every attempt: the backup fails naming Spaces, aborted, nothing stored', async () => {
    peer.failNext({ when: (r) => r.key.includes('/postgres/') && r.partNumber === 2, status: 500, times: 100 });
    const complete = await manifests();
    const run = await runBackup(inputs({ parts: 'postgres redis' }));
    await expectNothingCounted(run, complete);
    expect(run.log).toMatch(/kept failing for titan\/backups\/.*\/postgres\/titan\.dump\.age .*HTTP 500 InternalError after 4 attempts/);
    await expectHostClean();
  });

  it('the SSH connection cut mid-stream: the connection named as lost, nothing stored, nothing left on the host', async () => {
    const proxy = await cuttingProxy(host.port, 12 * 1024 * 1024);
    try {
      const complete = await manifests();
      const run = await runBackup(inputs({ parts: 'postgres', port: String(proxy.port), 'known-hosts': host.hostKeyFingerprint }));
      expect(proxy.cut()).toBe(true);
      await expectNothingCounted(run, complete);
      expect(run.log).toMatch(/SSH connection to 127\.0\.0\.1 port \d+ lost/);
      await expectHostClean();
    } finally {
      await proxy.close();
    }
  });

  it('a database that does not exist: the error of psql at once, nothing stored, nothing left on the host', async () => {
    const complete = await manifests();
    const started = Date.now();
    const run = await runBackup(inputs({ parts: 'postgres', 'postgres-database': 'no_such_db' }));
    expect(Date.now() - started).toBeLessThan(60_000);
    await expectNothingCounted(run, complete);
    expect(run.log).toContain('psql could not open a snapshot of database no_such_db');
    expect(run.log).toContain('database "no_such_db" does not exist');
    await expectHostClean();
  });

  it('a wrong key, a missing bucket, an endpoint that does not answer: each named, and the host untouched', async () => {
    const lastSave = redisCli(['LASTSAVE']);
    const complete = await manifests();
    const wrongKey = await runBackup(inputs({ 'spaces-access-key': 'NOTAKEY' }));
    await expectNothingCounted(wrongKey, complete);
    expect(wrongKey.log).toMatch(/refused the credentials for bucket titan-backups .*check spaces-access-key and spaces-secret-key/);
    const noBucket = await runBackup(inputs({ 'spaces-bucket': 'no-such-space' }));
    await expectNothingCounted(noBucket, complete);
    expect(noBucket.log).toContain('the bucket no-such-space does not exist');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const dead = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 1}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const noEndpoint = await runBackup(inputs({ 'spaces-endpoint': dead }));
    await expectNothingCounted(noEndpoint, complete);
    expect(noEndpoint.log).toContain(`cannot reach ${dead} (ECONNREFUSED`);
    // Refused before anything ran on the host: no snapshot was taken.
    expect(redisCli(['LASTSAVE'])).toBe(lastSave);
  });

  it('bad encryption inputs are configuration errors naming the input; nothing is sent', async () => {
    const before = peer.requests.length;
    const bad = await runBackup(inputs({ 'age-recipients': 'age1notakey' }));
    expect(bad.status).toBe(1);
    expect(bad.log).toContain('Configuration error: Input age-recipients: "age1notakey" is not an age recipient');
    const none = await runBackup(inputs({ 'age-recipients': '', encryption: '' }));
    expect(none.log).toContain('Input required and not supplied: age-recipients');
    const stranger = await age.generateIdentity();
    const notOurs = await runBackup(inputs({ verify: 'runner', ...verifyInputs(), 'verify-key': stranger }));
    expect(notOurs.log).toMatch(/Configuration error: Input verify-key: its recipient age1\w+ is not among age-recipients/);
    expect(shown(notOurs.log).includes(stranger)).toBe(false);
    expect(peer.requests.length).toBe(before);
  });
});

/** A TCP proxy to sshd that cuts both directions once `limit` bytes went from the server to the client. */
async function cuttingProxy(targetPort: number, limit: number): Promise<{ port: number; cut(): boolean; close(): Promise<void> }> {
  let forwarded = 0;
  let didCut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (forwarded > limit && !didCut) {
        didCut = true;
        for (const s of sockets) s.destroy();
        return;
      }
      client.write(chunk);
    });
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    cut: () => didCut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
