/**
 * A Titan stack of the rollback tests' own on the real test host (scripts/test-host/up): an app
 * folder laid out as provisioning does it (trust/ with the release key, shared/.env.prod 0600,
 * releases/, journal.jsonl, owned by the deploy user), releases signed from a copy of
 * examples/titan with the test host's key and image digests, deployed with action-deploy's own
 * committed bundle, run the way a runner runs it. The copy publishes the stack's ports 30000 higher
 * (3100 -> 33100, NATS 4222 -> 34222) so it runs beside the other tests' stacks.
 * Tests run as root on the same machine: they read the host's files and Docker directly.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { productionValue } from '@titan/test-host/production-values';
import { type ActionRun, type ActionRunOptions, type RunningAction, runActionBundle, startActionBundle } from '@titan/test-host/action-run';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import { copySharedValues } from '@titan/test-host/shared-values';

export const PROJECT = 'titanrollback';
export const PORT_OFFSET = 30_000;
export const host: TestHost = loadTestHost();
export const appDir = join(host.stateDir, 'opt', PROJECT);
export const natsUrl = `127.0.0.1:${4222 + PORT_OFFSET}`;

const work = mkdtempSync(join(tmpdir(), 'titan-rollback-'));
const sourceDir = join(work, 'titan');
const releaseKey = parseReleaseKey(readReleaseKey(host));
let signed = 0;

function ids(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim()),
  };
}

/** A fresh app folder (the stack of an earlier run removed first) and a port-shifted copy of examples/titan. */
export function prepareStack(): void {
  bringDown();
  rmSync(appDir, { recursive: true, force: true });
  const { uid, gid } = ids();
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  copySharedValues(host, appDir);
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'journal.jsonl')]) {
    chownSync(path, uid, gid);
  }
  execFileSync('chmod', ['0750', appDir]);

  rmSync(sourceDir, { recursive: true, force: true });
  cpSync(host.example, sourceDir, { recursive: true });
  const prod = join(sourceDir, 'docker-compose.prod.yml');
  const text = readFileSync(prod, 'utf8');
  const shifted = text.replace(/"127\.0\.0\.1:(\d+):(\d+)"/g, (_all, hostPort: string, port: string) => `"127.0.0.1:${Number(hostPort) + PORT_OFFSET}:${port}"`);
  if (shifted === text) throw new Error(`${prod}: no "127.0.0.1:<port>:<port>" mapping to move; has examples/titan changed?`);
  writeFileSync(prod, shifted);
}

/** Signs a release of the port-shifted source (fresh git sha, so a fresh release id); returns its bundle folder and id. */
export async function signTestRelease(): Promise<{ dir: string; id: string }> {
  signed += 1;
  const release = await signRelease(
    {
      source: sourceDir,
      selection: { digests: new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)])) },
      signingKey: releaseKey,
      keyId: host.releaseKeyId,
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/7000',
      createdAt: new Date(Date.now() + signed * 1000),
      output: mkdtempSync(join(work, 'bundle-')),
    },
    silentLogger,
  );
  return { dir: release.dir, id: release.manifest.releaseId };
}

function connectionInputs(): Record<string, string> {
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

const RUNNER_ENV = {
  GITHUB_ACTOR: 'rollback-tester',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'titan/titan',
  GITHUB_RUN_ID: '7001',
};

/** Deploys a bundle with action-deploy's committed bundle; throws with its log unless it deployed. */
export async function deploy(bundleDir: string): Promise<ActionRun> {
  const run = await runActionBundle('action-deploy', {
    inputs: { ...connectionInputs(), bundle: bundleDir, 'health-timeout': '120', 'keep-releases': '20', 'lock-timeout': '60' },
    env: RUNNER_ENV,
    timeoutMs: 280_000,
  });
  if (run.status !== 0 || run.outputs['result'] !== 'deployed') throw new Error(`action-deploy did not deploy ${bundleDir} (exit ${run.status}):\n${run.log}`);
  return run;
}

/** Runs action-rollback's committed bundle with the stack's connection, NATS and HMAC inputs, and `inputs` over them. */
export function rollback(inputs: Record<string, string>, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ActionRun> {
  return runActionBundle('action-rollback', rollbackRun(inputs, options));
}

/** Starts action-rollback's committed bundle as rollback() runs it, and returns once it runs (tests that cancel it). */
export function startRollback(inputs: Record<string, string>, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunningAction> {
  return startActionBundle('action-rollback', rollbackRun(inputs, options));
}

function rollbackRun(inputs: Record<string, string>, options: { env?: Record<string, string>; timeoutMs?: number }): ActionRunOptions {
  return {
    inputs: {
      ...connectionInputs(),
      'nats-url': natsUrl,
      'nats-password': envValue('NATS_CONSOLE_PASSWORD'),
      'hmac-secret': envValue('HMAC_SECRET'),
      'health-timeout': '120',
      ...inputs,
    },
    env: { ...RUNNER_ENV, ...options.env },
    timeoutMs: options.timeoutMs ?? 280_000,
  };
}

/** A value of the app folder's production values file (secrets: never print them). */
export function envValue(name: string): string {
  return productionValue(join(appDir, 'shared', '.env.prod'), name);
}

export function docker(args: readonly string[]): string {
  return execFileSync('docker', [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

export function containerName(service: string): string {
  return `${PROJECT}_${service}_1`;
}

/** Service -> state (running, exited, ...) of the project's containers. */
export function containerStates(): Record<string, string> {
  const out = docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}']);
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(' ') as [string, string]),
  );
}

export interface StopEvent {
  readonly service: string;
  readonly timeNano: number;
}

/**
 * Watches the project's container stops (`die` events) from now on, as the Docker engine reports
 * them, until stop() (which returns them, oldest first). The engine keeps only its last 256 events
 * for a later `docker events --since`, and the healthchecks of a few stacks fill that within
 * seconds, so the stream is read live.
 */
export async function watchStopEvents(): Promise<{ stop(): Promise<StopEvent[]> }> {
  return watchEvents('die');
}

/** Watches the project's container starts (`start` events), as watchStopEvents watches stops. */
export async function watchStartEvents(): Promise<{ stop(): Promise<StopEvent[]> }> {
  return watchEvents('start');
}

async function watchEvents(event: string): Promise<{ stop(): Promise<StopEvent[]> }> {
  // Docker reads `<seconds>.<nanoseconds>`: from this very millisecond on.
  const ms = Date.now();
  const since = `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}000000`;
  const child = spawn('docker', ['events', '--since', since, '--filter', 'type=container', '--filter', `event=${event}`, '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{json .}}'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    async stop() {
      // Events are written as they happen; give the last ones a moment to arrive.
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
      await closed;
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { timeNano: number; Actor: { Attributes: Record<string, string> } })
        .map((e) => ({ service: e.Actor.Attributes['com.docker.compose.service'] ?? '?', timeNano: e.timeNano }))
        .sort((a, b) => a.timeNano - b.timeNano);
    },
  };
}

/** What the titan-brain stand-in recorded: one HARD_HALT payload per line. */
export function recordedHalts(): string[] {
  try {
    return docker(['exec', containerName('titan-brain'), 'cat', '/titan/halts.log']).split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** Waits until titan-brain's halt responder says it is subscribed (after a start or a NATS restart). */
export async function brainSubscribed(sinceSeconds: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const logs = execFileSync('docker', ['logs', '--since', sinceSeconds.toFixed(3), containerName('titan-brain')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (logs.includes('subscribed to titan.cmd.sys.halt')) return;
    if (Date.now() > until) throw new Error(`titan-brain's halt responder did not subscribe within ${timeoutMs} ms:\n${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function journal(): Record<string, unknown>[] {
  return readFileSync(join(appDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Removes the project's containers, volumes and networks (docker compose down -v, by label). */
export function bringDown(): void {
  const list = (args: string[]): string[] => docker(args).split('\n').filter(Boolean);
  const containers = list(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
  const volumes = list(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes]);
  const networks = list(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (networks.length > 0) docker(['network', 'rm', ...networks]);
}

/** `docker compose down -v` of the current release, then whatever of the project is left; the app folder goes too. */
export function cleanUp(): void {
  const current = join(appDir, 'current');
  if (existsSync(join(current, 'manifest.json'))) {
    const files = ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml', 'docker-compose.digests.yml'].flatMap((f) => ['-f', join(current, f)]);
    spawnSync('docker', ['compose', '-p', PROJECT, '--project-directory', current, ...files, '--env-file', join(appDir, 'shared', '.env.prod'), 'down', '-v', '--remove-orphans'], { stdio: 'ignore' });
  }
  bringDown();
  const guards = spawnSync('pgrep', ['-f', `titan-guard.*${appDir}`], { encoding: 'utf8' }).stdout;
  for (const pid of guards.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(appDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
