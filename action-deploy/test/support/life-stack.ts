/**
 * A stack for the tests of a deploy's lifetime: the bundled actions (action-deploy,
 * action-rollback) run as a runner runs them, against an app folder and a compose project of the
 * test file's own on the real test host, and the faults a runner meets injected for real: SIGKILL,
 * SIGSTOP/SIGCONT, GitHub's cancellation (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that).
 * What the tests look at is the host: `current`, the containers, health endpoints, the journal, the
 * lock (free when `flock -n` gets it and no holder file is left), the halt mark.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ActionRun, runActionBundle, type RunningAction, startActionBundle } from '@titan/test-host/action-run';
import { productionValue } from '@titan/test-host/production-values';
import { containerIds, containerStates, currentOf, eventually, health, journalOf, prepareAppDir, testHost } from '../../../packages/deploy/test/support/host-fixture.js';

export const TRADING = ['titan-scavenger', 'titan-hunter', 'titan-sentinel', 'titan-ai-quant', 'titan-powerlaw-lab', 'titan-execution', 'titan-brain'];

export interface LifeStack {
  readonly project: string;
  readonly appDir: string;
  /** action-deploy's inputs for `bundle`, with `extra` over them. */
  deployInputs(bundle: string, extra?: Record<string, string>): Record<string, string>;
  deploy(bundle: string, extra?: Record<string, string>, runId?: string): Promise<ActionRun>;
  startDeploy(bundle: string, extra?: Record<string, string>, runId?: string): Promise<RunningAction>;
  rollback(inputs: Record<string, string>): Promise<ActionRun>;
  /** The release `current` points at (its id), or undefined. */
  current(): string | undefined;
  journal(): Record<string, unknown>[];
  /** Free: `flock -n` takes it at once and no holder file is left. */
  lockFree(): boolean;
  halted(): boolean;
  /** Every one of the 17 services running, and the Titan services' health endpoints answering ok. */
  healthy(): Promise<boolean>;
  /** The image (repository@digest) the container of `service` runs. */
  imageOf(service: string): string;
}

export function lifeStack(name: string): LifeStack {
  const project = name.replace(/[^a-z0-9]/g, '');
  const appDir = prepareAppDir(name);
  const runEnv = (runId: string): Record<string, string> => ({
    GITHUB_ACTOR: 'life-tester',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'titan/titan',
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: '1',
  });
  const connection = (): Record<string, string> => ({
    host: testHost.host,
    port: String(testHost.port),
    user: testHost.user,
    'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'),
    'known-hosts': testHost.knownHosts,
    'app-dir': appDir,
    project,
  });
  const deployInputs = (bundle: string, extra: Record<string, string> = {}): Record<string, string> => ({
    ...connection(),
    bundle,
    'public-key': testHost.releasePublicKey,
    'health-timeout': '60',
    'confirm-timeout': '60',
    'heartbeat-timeout': '4',
    'lock-timeout': '60',
    ...extra,
  });
  return {
    project,
    appDir,
    deployInputs,
    deploy: (bundle, extra, runId = '8001') => runActionBundle('action-deploy', { inputs: deployInputs(bundle, extra), env: runEnv(runId), timeoutMs: 240_000 }),
    startDeploy: (bundle, extra, runId = '8002') => startActionBundle('action-deploy', { inputs: deployInputs(bundle, extra), env: runEnv(runId), timeoutMs: 240_000 }),
    rollback: (inputs) =>
      runActionBundle('action-rollback', {
        inputs: {
          ...connection(),
          'nats-password': productionValue(join(appDir, 'shared', '.env.prod'), 'NATS_CONSOLE_PASSWORD'),
          'hmac-secret': productionValue(join(appDir, 'shared', '.env.prod'), 'HMAC_SECRET'),
          'health-timeout': '60',
          'lock-timeout': '60',
          'heartbeat-timeout': '4',
          ...inputs,
        },
        env: runEnv('8100'),
        timeoutMs: 240_000,
      }),
    current: () => currentOf(appDir)?.replace(/^releases\//, ''),
    journal: () => journalOf(appDir),
    lockFree: () => !existsSync(join(appDir, '.deploy.lock.holder')) && spawnSync('flock', ['-n', join(appDir, '.deploy.lock'), 'true']).status === 0,
    halted: () => existsSync(join(appDir, 'state', 'halted')),
    healthy: async () => {
      const states = containerStates(project);
      if (Object.keys(states).length !== 17 || Object.values(states).some((s) => s !== 'running')) return false;
      for (const port of [3100, 3002, 8081, 8083, 8084, 8082]) {
        const body = await health(port).catch((): Record<string, unknown> => ({}));
        if (body['status'] !== 'ok') return false;
      }
      return true;
    },
    imageOf: (service) => {
      const id = containerIds(project)[service] ?? '';
      return execFileSync('docker', ['inspect', '--format', '{{.Config.Image}}', id], { encoding: 'utf8' }).trim();
    },
  };
}

/** The log so far shows `::group::<phase>` (the phase has begun). */
export async function waitForPhase(running: RunningAction, phase: string, timeoutMs = 90_000): Promise<boolean> {
  return eventually(() => running.log().includes(`::group::${phase}\n`), timeoutMs, 5);
}

/** The test host's registry process (frozen by tests to hold a deploy in its pull). */
export function registryPid(): number {
  return Number(readFileSync(join(testHost.stateDir, 'run', 'registry.pid'), 'utf8').trim());
}

/** Docker events of the project's containers (`start`, `die`, ...) from now on, read live until stop(). */
export async function watchEvents(project: string, event: string): Promise<{ stop(): Promise<{ service: string; time: number }[]> }> {
  const since = (Date.now() / 1000).toFixed(3);
  const child = dockerStream(['events', '--since', since, '--filter', 'type=container', '--filter', `event=${event}`, '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{json .}}']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    async stop() {
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
      await child.closed;
      return child
        .text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { timeNano: number; Actor: { Attributes: Record<string, string> } })
        .map((e) => ({ service: e.Actor.Attributes['com.docker.compose.service'] ?? '?', time: e.timeNano / 1e9 }));
    },
  };
}

function dockerStream(args: string[]): { kill(signal: NodeJS.Signals): void; closed: Promise<void>; text(): string } {
  const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { kill: (signal) => child.kill(signal), closed, text: () => text };
}

/** SQL on the project's postgres, as root on the host (tests only). */
export function sql(project: string, query: string): string {
  const id = containerIds(project)['postgres'];
  if (id === undefined) throw new Error('no postgres container');
  return execFileSync('docker', ['exec', id, 'psql', '-X', '-A', '-t', '-U', 'titan', '-d', 'titan', '-c', query], { encoding: 'utf8' }).trim();
}
