/**
 * A swarm stack of the swarm tests' own on the real test host. The test host's Docker engine is made
 * a single-node swarm for the file (initSwarm) and leaves it again in the teardown (leaveSwarm: the
 * stack removed, its containers and networks gone, the engine out of the swarm, the bridge the swarm
 * made removed), so no other test ever sees a swarm. The app folder is the deploy tests' own
 * (prepareAppDir: trust/, shared/.env.prod 0600, releases/, journal.jsonl). Releases are signed from
 * a small release source of two of the test host's stand-in images (titan-hunter and prometheus, no
 * port published: the swarm target verifies through the tasks' healthchecks) and deployed, verified
 * and rolled back with the actions' committed bundles and `target: swarm`, as a runner runs them.
 * Tests run as root on the same machine: they read the host's files and Docker directly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@titan/log/logger';
import { signRelease } from '@titan/release/sign-release';
import { type ActionRun, runActionBundle } from '@titan/test-host/action-run';
import { prepareAppDir, testHost } from '../../../deploy/test/support/host-fixture.js';
import { releaseKey } from '../../../deploy/test/support/test-releases.js';

export const STACK = 'swarmflow';
export const appDir = prepareAppDir('swarm-flow');
/** The compose services of the test release. */
export const SERVICES = ['prometheus', 'titan-hunter'] as const;

const work = mkdtempSync(join(tmpdir(), 'titan-swarm-'));
let signed = 0;

export function docker(args: readonly string[]): string {
  return execFileSync('docker', [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** The engine as a single-node swarm manager (a swarm or stack left by a killed run is left first). */
export function initSwarm(): void {
  leaveSwarm();
  docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
}

/** The engine's swarm state: inactive, active, ... */
export function swarmState(): string {
  return docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).trim();
}

/** The ids of what the stack owns: services, containers, networks (each labelled with the stack's namespace). */
export function stackLeftovers(): { services: string[]; containers: string[]; networks: string[] } {
  const ids = (args: string[]): string[] => {
    const run = spawnSync('docker', args, { encoding: 'utf8' });
    return run.status === 0 ? run.stdout.split('\n').filter((l) => l.trim() !== '') : [];
  };
  const label = `label=com.docker.stack.namespace=${STACK}`;
  return {
    services: swarmState() === 'active' ? ids(['service', 'ls', '-q', '--filter', label]) : [],
    containers: ids(['ps', '-aq', '--filter', label]),
    networks: ids(['network', 'ls', '-q', '--filter', label]),
  };
}

/**
 * The stack removed (services, then their containers and networks, waited for), the engine out of
 * the swarm, and docker_gwbridge (the bridge `swarm init` creates, which outlives the swarm)
 * removed. Never throws: it is the teardown, and the set-up's clean start.
 */
export function leaveSwarm(): void {
  if (swarmState() === 'active') spawnSync('docker', ['stack', 'rm', STACK], { stdio: 'ignore' });
  for (let i = 0; i < 120; i += 1) {
    const left = stackLeftovers();
    if (left.services.length + left.containers.length + left.networks.length === 0) break;
    spawnSync('sleep', ['0.5']);
  }
  const { containers, networks } = stackLeftovers();
  if (containers.length > 0) spawnSync('docker', ['rm', '-f', ...containers], { stdio: 'ignore' });
  spawnSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' });
  if (networks.length > 0) spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
  spawnSync('docker', ['network', 'rm', 'docker_gwbridge'], { stdio: 'ignore' });
}

/** Networks by name (to prove the teardown leaves none of the swarm's). */
export function networkNames(): string[] {
  return docker(['network', 'ls', '--format', '{{.Name}}']).split('\n').filter((l) => l.trim() !== '').sort();
}

export interface SourceOptions {
  /** titan-hunter's digest (`sha256:...`), default the test host's. */
  readonly hunterDigest?: string;
  /** titan-hunter's PORT: a value that is no number makes the stand-in exit at start (64). */
  readonly hunterPort?: string;
}

const HEALTHCHECK = (url: string): string => `    healthcheck:
      test: ["CMD-SHELL", "wget -q -O - ${url} | grep -q '\\"status\\":\\"ok\\"'"]
      interval: 2s
      timeout: 2s
      retries: 2
      start_period: 4s
`;

/** A release source of two stand-in services (a fresh folder each time, its policy file changed). */
function writeSource(options: SourceOptions): string {
  const dir = mkdtempSync(join(work, 'source-'));
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'migrations'));
  mkdirSync(join(dir, 'images'));
  for (const image of ['titan-service', 'infra-standin']) cpSync(join(testHost.example, 'images', image), join(dir, 'images', image), { recursive: true });
  writeFileSync(join(dir, 'config', 'policy.json'), `{"maxLeverage":2,"release":${signed}}\n`);
  writeFileSync(join(dir, 'production.env.template'), 'HMAC_SECRET=\n');
  writeFileSync(
    join(dir, 'services.yml'),
    `registry: ${testHost.imagePrefix}
release:
  compose: [docker-compose.yml]
  policy: config/policy.json
  config: config
  migrations: migrations
  env-template: production.env.template
values:
  required: [HMAC_SECRET]
images:
  - service: titan-hunter
    image: titan-phase2-hunter
    context: images/titan-service
    dockerfile: images/titan-service/Dockerfile
    build-args: { SERVICE: titan-hunter }
  - service: prometheus
    image: prometheus
    context: images/infra-standin
    dockerfile: images/infra-standin/Dockerfile
    build-args: { SERVICE: prometheus, PORTS: "9090", HEALTH_PATH: /-/healthy }
`,
  );
  // The swarm target runs no migrations: the profile's database names an infrastructure service
  // only because every stack profile names one. No health endpoints: those are reached through
  // ports published on the loopback, which a swarm release cannot have; the swarm target verifies
  // through the tasks' healthchecks.
  writeFileSync(
    join(dir, 'stack.yml'),
    `groups:
  - { name: strategies, trading: true, services: [titan-hunter] }
infrastructure: [prometheus]
health: []
policyReporters: []
database: { service: prometheus, name: titan, user: titan }
halt: { subject: titan.cmd.sys.halt, responder: titan-hunter }
critical: [titan-hunter]
`,
  );
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `services:
  titan-hunter:
    image: \${TITAN_REGISTRY:-${testHost.imagePrefix}}/titan-phase2-hunter:latest
    environment:
      TITAN_MODE: \${TITAN_MODE:-DISARMED}
      PORT: "${options.hunterPort ?? '8083'}"
      HMAC_SECRET: \${HMAC_SECRET:?HMAC_SECRET must be set}
    volumes:
      - ./config/policy.json:/etc/titan/policy.json:ro
    networks: [titan-swarm]
    stop_grace_period: 2s
    restart: unless-stopped
${HEALTHCHECK('http://127.0.0.1:$${PORT}/health')}
  prometheus:
    image: \${TITAN_REGISTRY:-${testHost.imagePrefix}}/prometheus:latest
    networks: [titan-swarm]
    stop_grace_period: 2s
    restart: unless-stopped
${HEALTHCHECK('http://127.0.0.1:9090/-/healthy')}
networks:
  titan-swarm:
    driver: overlay
`,
  );
  return dir;
}

export interface SwarmRelease {
  readonly dir: string;
  readonly id: string;
  /** Compose service -> `repo@sha256:...`, as the manifest pins it. */
  readonly images: Record<string, string>;
}

/** Signs a release of the small source (a fresh git sha and a later createdAt each time). */
export async function signSwarmRelease(options: SourceOptions = {}): Promise<SwarmRelease> {
  signed += 1;
  const digests = new Map(SERVICES.map((service) => [service, digestOf(service)]));
  if (options.hunterDigest !== undefined) digests.set('titan-hunter', options.hunterDigest);
  const release = await signRelease(
    {
      source: writeSource(options),
      selection: { digests },
      signingKey: releaseKey,
      keyId: testHost.releaseKeyId,
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/9000',
      createdAt: new Date(Date.now() + signed * 1000),
      output: mkdtempSync(join(work, 'bundle-')),
    },
    silentLogger,
  );
  const images = Object.fromEntries(Object.entries(release.manifest.images).map(([service, image]) => [service, `${image.image}@${image.digest}`]));
  return { dir: release.dir, id: release.manifest.releaseId, images };
}

function digestOf(service: string): string {
  const ref = testHost.images[service];
  if (ref === undefined) throw new Error(`The test host has no image for ${service}.`);
  return ref.slice(ref.indexOf('@') + 1);
}

const RUNNER_ENV = { GITHUB_ACTOR: 'swarm-tester', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '9001', GITHUB_RUN_ATTEMPT: '1' };

function connectionInputs(): Record<string, string> {
  return {
    host: testHost.host,
    port: String(testHost.port),
    user: testHost.user,
    'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'),
    'known-hosts': testHost.knownHosts,
    'app-dir': appDir,
    project: STACK,
  };
}

/** Runs action-deploy's committed bundle with target: swarm. */
export function deploySwarmRun(bundleDir: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle('action-deploy', {
    inputs: { ...connectionInputs(), bundle: bundleDir, target: 'swarm', 'health-timeout': '90', 'lock-timeout': '60', ...inputs },
    env: RUNNER_ENV,
    timeoutMs: 300_000,
  });
}

/** Runs action-rollback's or action-verify's committed bundle with the stack's connection inputs and target: swarm. */
export function runSwarmAction(action: 'action-rollback' | 'action-verify', inputs: Record<string, string> = {}): Promise<ActionRun> {
  const timeout: Record<string, string> = action === 'action-verify' ? { timeout: '60' } : { 'health-timeout': '90', 'lock-timeout': '60' };
  return runActionBundle(action, { inputs: { ...connectionInputs(), target: 'swarm', ...timeout, ...inputs }, env: RUNNER_ENV, timeoutMs: 300_000 });
}

/** The stack's swarm services by compose service: the spec's image, its version and when it was last updated. */
export function stackServices(): Record<string, { image: string; version: string; updatedAt: string }> {
  const ids = docker(['service', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`]).split('\n').filter(Boolean);
  if (ids.length === 0) return {};
  const lines = docker(['service', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Version.Index}} {{.UpdatedAt}}', ...ids]).split('\n').filter(Boolean);
  return Object.fromEntries(
    lines.map((line) => {
      const [name = '', image = '', version = '', ...updatedAt] = line.split(' ');
      return [name.slice(STACK.length + 1), { image, version, updatedAt: updatedAt.join(' ') }];
    }),
  );
}

/** Compose service -> the image its swarm service's spec runs. */
export function serviceImages(): Record<string, string> {
  return Object.fromEntries(Object.entries(stackServices()).map(([service, s]) => [service, s.image]));
}

export interface RunningTask {
  /** The titan.release label of the task's container. */
  readonly release: string;
  /** The image the container was created from (its Config.Image). */
  readonly image: string;
  /** running, ... */
  readonly state: string;
  /** healthy, unhealthy, starting, or '' without a healthcheck. */
  readonly health: string;
  readonly env: Record<string, string>;
}

/** The stack's running containers by compose service, read with docker inspect. */
export function runningTasks(): Record<string, RunningTask[]> {
  const ids = docker(['ps', '-q', '--no-trunc', '--filter', `label=com.docker.stack.namespace=${STACK}`]).split('\n').filter(Boolean);
  if (ids.length === 0) return {};
  const inspected = JSON.parse(docker(['inspect', ...ids])) as {
    Config: { Image: string; Env: string[]; Labels: Record<string, string> };
    State: { Status: string; Health?: { Status: string } };
  }[];
  const out: Record<string, RunningTask[]> = {};
  for (const c of inspected) {
    const service = (c.Config.Labels['com.docker.swarm.service.name'] ?? '').slice(STACK.length + 1);
    const env = Object.fromEntries(c.Config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    (out[service] ??= []).push({ release: c.Config.Labels['titan.release'] ?? '', image: c.Config.Image, state: c.State.Status, health: c.State.Health?.Status ?? '', env });
  }
  return out;
}

/** What a person checks to say the stack runs `release`: one task per service, of that release and its pinned image, running and healthy. */
export function runsRelease(release: SwarmRelease): boolean {
  const tasks = runningTasks();
  return SERVICES.every((service) => {
    const mine = tasks[service] ?? [];
    return mine.length === 1 && mine[0]?.release === release.id && mine[0].image === release.images[service] && mine[0].state === 'running' && mine[0].health === 'healthy';
  });
}

export function cleanUp(): void {
  leaveSwarm();
  rmSync(appDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
