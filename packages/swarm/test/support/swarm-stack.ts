/**
 * A swarm stack of the swarm tests' own on the real test host: the engine made a single-node swarm
 * for the file (initSwarm, and leaveSwarm in its teardown, so no other test ever sees a swarm), an
 * app folder laid out as provisioning does it (trust/ with the release key, shared/.env.prod 0600,
 * releases/, journal.jsonl, the deploy user's), and releases signed from a small release source of
 * the test host's stand-in images (titan-execution and prometheus, no published port), deployed with
 * action-deploy's committed bundle and `target: swarm`, as a runner runs it.
 * Tests run as root on the same machine: they read the host's files and Docker directly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease } from '@titan/release/sign-release';
import { type ActionRun, runActionBundle } from '@titan/test-host/action-run';
import { copySharedValues } from '@titan/test-host/shared-values';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';

export const STACK = 'titanswarm';
export const host: TestHost = loadTestHost();
export const appDir = join(host.stateDir, 'opt', STACK);

const work = mkdtempSync(join(tmpdir(), 'titan-swarm-'));
const releaseKey = parseReleaseKey(readReleaseKey(host));
let signed = 0;

export function docker(args: readonly string[]): string {
  return execFileSync('docker', [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** The engine as a single-node swarm (a swarm left by a crashed run is left first). */
export function initSwarm(): void {
  leaveSwarm();
  docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
}

/** The stack removed and the engine out of the swarm again; never throws (teardown). */
export function leaveSwarm(): void {
  spawnSync('docker', ['stack', 'rm', STACK], { stdio: 'ignore' });
  for (let i = 0; i < 60; i += 1) {
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`], { encoding: 'utf8' }).stdout.trim();
    if (left === '') break;
    spawnSync('sleep', ['0.5']);
  }
  spawnSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' });
}

/** A fresh app folder, laid out as provisioning does it. */
export function prepareAppDir(): void {
  rmSync(appDir, { recursive: true, force: true });
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  copySharedValues(host, appDir);
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0750', appDir]);
}

export interface SourceOptions {
  /** titan-execution's health fails (TITAN_FAIL_HEALTH=1): its tasks never get healthy. */
  readonly failing?: boolean;
  /** A port published on the loopback, as Titan's Compose stack publishes its ports. */
  readonly hostIpPort?: boolean;
}

const HEALTHCHECK = (port: string): string => `    healthcheck:
      test: ["CMD-SHELL", "wget -q -O - http://127.0.0.1:${port}/health | grep -q '\\"status\\":\\"ok\\"'"]
      interval: 2s
      timeout: 2s
      retries: 2
      start_period: 4s
`;

/** A release source of two stand-in services (fresh folder each time). */
function writeSource(options: SourceOptions): string {
  const dir = mkdtempSync(join(work, 'source-'));
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'migrations'));
  mkdirSync(join(dir, 'images'));
  for (const image of ['titan-service', 'infra-standin']) cpSync(join(host.example, 'images', image), join(dir, 'images', image), { recursive: true });
  writeFileSync(join(dir, 'config', 'policy.json'), `{"maxLeverage":2,"release":${signed}}\n`);
  writeFileSync(join(dir, 'production.env.template'), 'HMAC_SECRET=\n');
  writeFileSync(
    join(dir, 'services.yml'),
    `registry: ${host.imagePrefix}
release:
  compose: [docker-compose.yml]
  policy: config/policy.json
  config: config
  migrations: migrations
  env-template: production.env.template
values:
  required: [HMAC_SECRET]
images:
  - service: titan-execution
    image: titan-execution-rs
    context: images/titan-service
    dockerfile: images/titan-service/Dockerfile
    build-args: { SERVICE: titan-execution }
  - service: prometheus
    image: prometheus
    context: images/infra-standin
    dockerfile: images/infra-standin/Dockerfile
    build-args: { SERVICE: prometheus, PORTS: "9090", HEALTH_PATH: /-/healthy }
`,
  );
  // The swarm target runs no migrations: the profile's database names an infrastructure service
  // only because every stack profile names one. No health endpoints: the profile's are reached
  // through ports published on the loopback, which a swarm release cannot have; the swarm target
  // verifies through the tasks' healthchecks.
  writeFileSync(
    join(dir, 'stack.yml'),
    `groups:
  - { name: execution, trading: true, services: [titan-execution] }
infrastructure: [prometheus]
health: []
policyReporters: []
database: { service: prometheus, name: titan, user: titan }
halt: { subject: titan.cmd.sys.halt, responder: titan-execution }
critical: [titan-execution]
`,
  );
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `services:
  titan-execution:
    image: ${host.imagePrefix}/titan-execution-rs:latest
    environment:
      TITAN_MODE: \${TITAN_MODE:-DISARMED}
      PORT: "3002"
      HMAC_SECRET: \${HMAC_SECRET:?HMAC_SECRET must be set}
      TITAN_FAIL_HEALTH: "${options.failing === true ? 1 : 0}"
    volumes:
      - ./config/policy.json:/etc/titan/policy.json:ro
${options.hostIpPort === true ? '    ports:\n      - "127.0.0.1:43002:3002"\n' : ''}    networks: [titan-swarm]
    stop_grace_period: 2s
${HEALTHCHECK('3002')}
  prometheus:
    image: ${host.imagePrefix}/prometheus:latest
    networks: [titan-swarm]
    stop_grace_period: 2s
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O - http://127.0.0.1:9090/-/healthy | grep -q '\\"status\\":\\"ok\\"'"]
      interval: 2s
      timeout: 2s
      retries: 2
      start_period: 4s

networks:
  titan-swarm:
    driver: overlay
`,
  );
  return dir;
}

/** Signs a release of the small source (fresh git sha and a later createdAt each time). */
export async function signSwarmRelease(options: SourceOptions = {}): Promise<{ dir: string; id: string }> {
  signed += 1;
  const release = await signRelease(
    {
      source: writeSource(options),
      selection: { digests: new Map(SERVICES.map((service) => [service, digestOf(service)])) },
      signingKey: releaseKey,
      keyId: host.releaseKeyId,
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/9000',
      createdAt: new Date(Date.now() + signed * 1000),
      output: mkdtempSync(join(work, 'bundle-')),
    },
    silentLogger,
  );
  return { dir: release.dir, id: release.manifest.releaseId };
}

const SERVICES = ['titan-execution', 'prometheus'] as const;

function digestOf(service: string): string {
  const ref = host.images[service];
  if (ref === undefined) throw new Error(`The test host has no image for ${service}.`);
  return ref.slice(ref.indexOf('@') + 1);
}

const RUNNER_ENV = { GITHUB_ACTOR: 'swarm-tester', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '9001' };

function connectionInputs(): Record<string, string> {
  return {
    host: host.host,
    port: String(host.port),
    user: host.user,
    'ssh-key': readFileSync(host.privateKeyPath, 'utf8'),
    'known-hosts': host.knownHosts,
    'app-dir': appDir,
    project: STACK,
  };
}

/** Runs action-deploy's committed bundle with target: swarm. */
export function deploySwarmRun(bundleDir: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle('action-deploy', {
    inputs: { ...connectionInputs(), bundle: bundleDir, target: 'swarm', 'health-timeout': '90', 'lock-timeout': '60', ...inputs },
    env: RUNNER_ENV,
    timeoutMs: 240_000,
  });
}

/** Runs an action's committed bundle (rollback, verify) with the stack's connection inputs and target: swarm. */
export function runSwarmAction(action: 'action-rollback' | 'action-verify', inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle(action, { inputs: { ...connectionInputs(), target: 'swarm', 'health-timeout': '90', ...inputs }, env: RUNNER_ENV, timeoutMs: 240_000 });
}

/** Compose service -> the image its swarm service's spec runs. */
export function serviceImages(): Record<string, string> {
  const out = docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${STACK}`, '--format', '{{.Name}}']).split('\n').filter(Boolean);
  if (out.length === 0) return {};
  const lines = docker(['service', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.TaskTemplate.ContainerSpec.Image}}', ...out]).split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((l) => l.split(' ') as [string, string]).map(([name, image]) => [name.slice(STACK.length + 1), image]));
}

/** The release each running task's container carries (its titan.release label), by compose service. */
export function runningReleases(): Record<string, string[]> {
  const lines = docker(['ps', '--filter', `label=com.docker.stack.namespace=${STACK}`, '--format', '{{.Label "com.docker.swarm.service.name"}} {{.Label "titan.release"}} {{.Status}}']).split('\n').filter(Boolean);
  const out: Record<string, string[]> = {};
  for (const line of lines) {
    const [service = '', release = '', ...status] = line.split(' ');
    (out[service.slice(STACK.length + 1)] ??= []).push(`${release} ${status.join(' ')}`);
  }
  return out;
}

export function journal(): Record<string, unknown>[] {
  return readFileSync(join(appDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function currentRelease(): string {
  return execFileSync('readlink', [join(appDir, 'current')], { encoding: 'utf8' }).trim();
}

export function cleanUp(): void {
  leaveSwarm();
  rmSync(appDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
