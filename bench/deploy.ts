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
 * takes <= 0.8x the baseline's time (Compose is not started when it has nothing to do).
 *
 * Then the trading window of a release that changes one strategy service (titan-hunter's image):
 * from the first Titan service stopped to every service healthy again, from `docker events`
 * (support/trading-window.ts), for ours (deployRelease from the release without the change to the
 * one with it) against the same change by hand (`current` switched back with ln + mv, then
 * `docker compose up -d --no-deps titan-hunter` and waiting for it to be healthy), alternating
 * (BENCH_WINDOW_REPS, default 3). Target: ours <= 1.2x.
 *
 * The stack publishes the example's ports PORT_OFFSET (45000) higher, in a project and app folder of
 * its own, so it runs beside a demo or a test stack; it checks first that those ports are free and
 * says which are not. Exit status 1 if a target is missed. Run as root (test host up):
 *
 *   bash bench/deploy   (on the shared machine: /work/bin/titan-dev run bash bench/deploy)
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { loadTestHost, readReleaseKey } from '@titan/test-host/test-host';
import { stackProfileOf } from '@titan/release/manifest';
import { groupedServices } from '@titan/release/stack-profile';
import { acceptedConnections, bringDownProject, containerIds, deployBundle, imageDigests, median, openSshArgs, PhaseTimes, prepareAppDir, spreadCells, sshConnector, sshTarget, timed } from './support/bench-host.js';
import { containerEvents, eventClock, tradingWindow } from './support/trading-window.js';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 5);
const project = 'benchdeploy';
const appDir = join(host.stateDir, 'opt', 'bench-deploy');
const work = mkdtempSync(join(tmpdir(), 'titan-bench-deploy-'));
const layout = new HostLayout(appDir);
const windowReps = Number(process.env.BENCH_WINDOW_REPS ?? 3);
const PORT_OFFSET = 45_000;
const CHANGED_SERVICE = 'titan-hunter';

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

/** A copy of examples/titan whose published ports are PORT_OFFSET higher; returns it and those ports. */
function shiftedSource(): { dir: string; ports: number[] } {
  const dir = join(work, 'titan');
  cpSync(host.example, dir, { recursive: true });
  const prod = join(dir, 'docker-compose.prod.yml');
  const ports: number[] = [];
  writeFileSync(
    prod,
    readFileSync(prod, 'utf8').replace(/"127\.0\.0\.1:(\d+):(\d+)"/g, (_all, hostPort: string, port: string) => {
      ports.push(Number(hostPort) + PORT_OFFSET);
      return `"127.0.0.1:${Number(hostPort) + PORT_OFFSET}:${port}"`;
    }),
  );
  return { dir, ports };
}

/** The ports of `ports` something already listens on (127.0.0.1). */
async function busyPorts(ports: readonly number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  return busy;
}

/** Builds and pushes a variant of the changed service's image (the example's titan-service context, another label). */
function buildVariant(): string {
  const ref = `${host.imagePrefix}/titan-phase2-hunter:bench-window`;
  execFileSync('docker', ['build', '-q', '-t', ref, '--label', 'titan.variant=bench-window', '--build-arg', `SERVICE=${CHANGED_SERVICE}`, join(host.example, 'images', 'titan-service')], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const match = /digest: (sha256:[0-9a-f]{64})/.exec(execFileSync('docker', ['push', ref], { encoding: 'utf8' }));
  if (match?.[1] === undefined) throw new Error(`no digest in the output of docker push ${ref}`);
  return match[1];
}

// The same change by hand: $1 app dir, $2 project, $3 release id, $4 service. Switches current to the
// release, recreates the one service with its compose files and waits for it to be healthy.
const HAND_SCRIPT = `set -eu
app=$1 project=$2 id=$3 service=$4
cd "$app"
ln -sfn "releases/$id" current.tmp
mv -T current.tmp current
env TITAN_MODE=DISARMED docker compose -p "$project" --project-directory "$app/current" -f "$app/current/docker-compose.yml" -f "$app/current/docker-compose.prod.yml" \\
  -f "$app/current/docker-compose.digests.yml" --env-file "$app/shared/.env.prod" up -d --no-deps "$service" 2> /dev/null
while :; do
  cid=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service")
  if [ -n "$cid" ] && [ "$(docker inspect --format '{{.State.Health.Status}}' "$cid")" = healthy ]; then break; fi
  sleep 0.2
done
`;

function handChange(releaseId: string): void {
  const ssh = spawnSync('ssh', [...sshCommon, '-p', String(host.port), target, 'sh', '-s', '--', appDir, project, releaseId, CHANGED_SERVICE], { input: HAND_SCRIPT, stdio: ['pipe', 'pipe', 'pipe'] });
  if (ssh.status !== 0) throw new Error(`the hand-made change failed (${ssh.status ?? ssh.signal}): ${ssh.stderr.toString()}`);
}

/** Seconds of the trading window of `change`, from the engine's events. */
async function windowOf(change: () => Promise<void> | void, titan: ReadonlySet<string>): Promise<number> {
  const since = eventClock();
  await change();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const window = tradingWindow(containerEvents(project, since, eventClock()), titan);
  if (window.services.join(',') !== CHANGED_SERVICE) throw new Error(`expected only ${CHANGED_SERVICE} to restart, saw ${window.services.join(', ')}`);
  return window.seconds;
}

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
  const source = shiftedSource();
  const busy = await busyPorts(source.ports);
  if (busy.length > 0) {
    console.error(
      `bench/deploy needs 127.0.0.1 ports ${source.ports.join(', ')} free: its stack publishes the example's ports ${PORT_OFFSET} higher (so it runs beside a demo ` +
        `or test stack on the usual ones). In use now: ${busy.join(', ')}. Stop what listens there (ss -ltnp) and run it again.`,
    );
    process.exitCode = 2;
    return;
  }
  bringDownProject(project);
  prepareAppDir(host, appDir);
  try {
    const release = await signRelease(
      {
        source: source.dir,
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
    const timeVerdict = ratio <= 0.8 ? 'PASS' : 'FAIL';
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
        `ours/baseline: ${ratio.toFixed(2)}x (target <= 0.8x): ${timeVerdict}; connections: ours ${oursConn} (target 1): ${connVerdict}`,
        '',
        `Where our time goes (median ms per phase): ${phaseTimes.summary()}`,
      ].join('\n'),
    );
    if (timeVerdict === 'FAIL' || connVerdict === 'FAIL') process.exitCode = 1;

    // The trading window of a release that changes one strategy service.
    const variant = await signRelease(
      {
        source: source.dir,
        selection: { digests: new Map([...imageDigests(host), [CHANGED_SERVICE, buildVariant()]]) },
        signingKey: parseReleaseKey(readReleaseKey(host)),
        git: { sha: 'be0c4be0c4be0c4be0c4be0c4be0c4be0c4bead1', ref: 'refs/heads/main' },
        runUrl: '',
        output: join(work, 'variant'),
      },
      silentLogger,
    );
    const titan = new Set(groupedServices(stackProfileOf(variant.manifest)));
    await oursDeploy(variant.dir);
    handChange(releaseId);
    const oursWindow: number[] = [];
    const handWindow: number[] = [];
    for (let rep = 0; rep < windowReps; rep += 1) {
      oursWindow.push(await windowOf(() => oursDeploy(variant.dir), titan));
      handWindow.push(await windowOf(() => handChange(releaseId), titan));
    }
    const windowRatio = median(oursWindow) / median(handWindow);
    const windowVerdict = windowRatio <= 1.2 ? 'PASS' : 'FAIL';
    console.log(
      [
        '',
        `Trading window (a release changing ${CHANGED_SERVICE}: first Titan service stopped -> every service healthy again, from docker events): ${windowReps} repetitions, medians`,
        '',
        '| change | median (s) | min (s) | max (s) |',
        '| --- | ---: | ---: | ---: |',
        `| ours (deployRelease: ordered stop, switch, compose up, verified) | ${spreadCells(oursWindow)} |`,
        `| by hand (ln + mv, docker compose up -d --no-deps ${CHANGED_SERVICE}, wait for healthy) | ${spreadCells(handWindow)} |`,
        '',
        `ours/by hand: ${windowRatio.toFixed(2)}x (target <= 1.2x): ${windowVerdict}`,
      ].join('\n'),
    );
    if (windowVerdict === 'FAIL') process.exitCode = 1;
  } finally {
    bringDownProject(project);
    rmSync(appDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
