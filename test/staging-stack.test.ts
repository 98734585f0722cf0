/**
 * A second, different stack through the whole path with no code of its own: examples/titan-staging
 * (the existing system's docker-compose.micro.yml: the five Titan services of its first staging
 * deploy, NATS and Postgres, its staging posture values and its micro-capital policy) through the
 * committed bundles of gatekeeper (production refuses its staging defaults, the staging posture
 * lets them through and says so), matrix, sign, deploy, verify and rollback, against the real test
 * host, in an app folder and a Compose project of its own, beside the production example's stacks.
 * Everything the suite knows about this stack comes from its stack.yml, signed into the manifest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '@titan/release/manifest';
import { readStackCompose } from '@titan/release/release-source';
import { parseStackProfile } from '@titan/release/stack-profile-file';
import { productionValue } from '@titan/test-host/production-values';
import { REPOSITORY_ROOT, runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { loadTestHost } from '@titan/test-host/test-host';

const host = loadTestHost();
const SOURCE = join(REPOSITORY_ROOT, 'examples/titan-staging');
const PROJECT = 'titanstaging';
const appDir = join(host.stateDir, 'opt', PROJECT);
const work = mkdtempSync(join(tmpdir(), 'titan-staging-'));
const SERVICES = ['nats', 'postgres', 'titan-brain', 'titan-execution', 'titan-hunter', 'titan-scavenger', 'titan-sentinel'];
const TITAN = ['titan-scavenger', 'titan-hunter', 'titan-sentinel', 'titan-execution', 'titan-brain'];
/**
 * The staging posture's own values, POSTGRES_UID/GID set to the host's postgres user: what the staging host holds.
 * `required`: its secrets, which services.yml's values.required names.
 */
const hostEnv = join(work, 'staging.env');
const required = readFileSync(join(SOURCE, 'staging.env'), 'utf8')
  .split('\n')
  .map((l) => /^([A-Z_]+)=/.exec(l)?.[1])
  .filter((n): n is string => n !== undefined && !['TITAN_MODE', 'TITAN_REGISTRY', 'POSTGRES_UID', 'POSTGRES_GID'].includes(n));
const bundles: string[] = [];
const ids: string[] = [];

const docker = (args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
function states(): Record<string, string> {
  const out = docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}']);
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}
function stopEvents(sinceSeconds: number): string[] {
  const until = (Date.now() / 1000).toFixed(3);
  const out = docker(['events', '--since', sinceSeconds.toFixed(3), '--until', until, '--filter', 'type=container', '--filter', 'event=die', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{index .Actor.Attributes "com.docker.compose.service"}}']);
  return out.split('\n').filter(Boolean);
}
function bringDown(): void {
  const list = (args: string[]): string[] => docker(args).split('\n').filter(Boolean);
  const containers = list(['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
  const volumes = list(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes]);
  const networks = list(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]);
  if (networks.length > 0) docker(['network', 'rm', ...networks]);
}

const connection = (): Record<string, string> => ({
  host: host.host,
  port: String(host.port),
  user: host.user,
  'ssh-key': readFileSync(host.privateKeyPath, 'utf8'),
  'known-hosts': host.knownHosts,
  'app-dir': appDir,
  project: PROJECT,
});
const RUNNER = { GITHUB_ACTOR: 'staging-tester', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '9001' };
const errors = (run: ActionRun): string[] => run.log.split('\n').filter((l) => l.startsWith('::error'));

async function sign(gitSha: string): Promise<ActionRun> {
  const digests = join(work, `digests-${gitSha.slice(0, 4)}`);
  mkdirSync(digests);
  for (const service of SERVICES) {
    const ref = host.images[service] ?? '';
    writeFileSync(join(digests, service), `${ref.slice(ref.indexOf('@') + 1)}\n`);
  }
  return runActionBundle('action-deploy/sign', {
    inputs: {
      source: SOURCE,
      digests,
      registry: host.imagePrefix,
      'signing-key': readFileSync(host.releaseKeyPath, 'utf8').trim(),
      'public-key': host.releasePublicKey,
      'key-id': host.releaseKeyId,
      output: join(work, 'bundles'),
      'git-sha': gitSha,
    },
  });
}
const deploy = (bundle: string): Promise<ActionRun> =>
  runActionBundle('action-deploy', { inputs: { ...connection(), bundle, 'public-key': host.releasePublicKey, 'health-timeout': '120' }, env: RUNNER, timeoutMs: 280_000 });
const rollback = (inputs: Record<string, string>): Promise<ActionRun> =>
  runActionBundle('action-rollback', {
    inputs: {
      ...connection(),
      'nats-url': '127.0.0.1:9222',
      'nats-password': productionValue(hostEnv, 'NATS_CONSOLE_PASSWORD'),
      'hmac-secret': productionValue(hostEnv, 'HMAC_SECRET'),
      'health-timeout': '120',
      ...inputs,
    },
    env: RUNNER,
    timeoutMs: 280_000,
  });

async function brainSubscribed(sinceSeconds: number): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    const logs = execFileSync('docker', ['logs', '--since', sinceSeconds.toFixed(3), `${PROJECT}_titan-brain_1`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (logs.includes('subscribed to titan.cmd.sys.halt')) return;
    if (Date.now() > until) throw new Error(`titan-brain's halt responder did not subscribe:\n${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(() => {
  bringDown();
  rmSync(appDir, { recursive: true, force: true });
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  const production = join(host.appDir, 'shared', '.env.prod');
  writeFileSync(
    hostEnv,
    readFileSync(join(SOURCE, 'staging.env'), 'utf8')
      .replace('POSTGRES_UID=__CHANGE_ME__', `POSTGRES_UID=${productionValue(production, 'POSTGRES_UID')}`)
      .replace('POSTGRES_GID=__CHANGE_ME__', `POSTGRES_GID=${productionValue(production, 'POSTGRES_GID')}`),
    { mode: 0o600 },
  );
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  cpSync(hostEnv, join(appDir, 'shared', '.env.prod'));
  execFileSync('chmod', ['0600', join(appDir, 'shared', '.env.prod')]);
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'shared'), join(appDir, 'shared', '.env.prod'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0750', appDir]);
});

afterAll(() => {
  bringDown();
  const guards = spawnSync('pgrep', ['-f', `titan-guard.*${appDir}`], { encoding: 'utf8' }).stdout;
  for (const pid of guards.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
  rmSync(appDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('the staging stack (examples/titan-staging) through the whole path, with no code of its own', () => {
  it('gatekeeper: the production gate refuses its staging defaults; the staging posture lets them through as warnings, and says so', async () => {
    // No required input: the gate takes the required values from the staging source's services.yml.
    const inputs = { source: SOURCE, 'env-file': hostEnv, 'github-token': '' };
    const production = await runActionBundle('action-deploy/gatekeeper', { inputs });
    expect(production.status).toBe(1);
    expect(production.outputs['ready']).toBe('false');
    const refused = JSON.parse(production.outputs['findings'] ?? '[]') as { severity: string; message: string }[];
    expect(refused.filter((f) => f.severity === 'error').map((f) => f.message).sort()).toEqual(required.map((n) => `${n} is a known development default`).sort());

    const staging = await runActionBundle('action-deploy/gatekeeper', { inputs: { ...inputs, posture: 'staging' } });
    expect(errors(staging)).toEqual([]);
    expect(staging.status).toBe(0);
    expect(staging.outputs['ready']).toBe('true');
    const allowed = JSON.parse(staging.outputs['findings'] ?? '[]') as { severity: string; check: string; message: string }[];
    expect(allowed.filter((f) => f.check === 'production-values').map((f) => `${f.severity} ${f.message}`).sort()).toEqual(
      required.map((n) => `warning ${n} is a known development default: allowed in the staging posture, the production gate refuses it`).sort(),
    );
    expect(staging.log).toContain(`::warning::Staging posture: ${required.length} value(s) that the production gate refuses (development defaults, weak values) are let through as warnings.`);
    expect(staging.summary).toContain('staging: development defaults are warnings here, the production gate refuses them');
    // Not a value of the posture file in any line a person reads.
    const visible = `${staging.log.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')}${staging.summary}${staging.outputText}`;
    for (const name of required) expect(visible).not.toContain(productionValue(hostEnv, name));
  });

  it("matrix: plans the stack's seven images, and weighs its critical build (titan-execution) from its stack.yml", async () => {
    const run = await runActionBundle('action-deploy/matrix', {
      cwd: REPOSITORY_ROOT,
      inputs: { 'services-file': 'examples/titan-staging/services.yml', cache: join(work, 'cache'), 'changed-files': 'examples/titan/images/titan-service/entrypoint.sh' },
      env: { GITHUB_SHA: 'c'.repeat(40), GITHUB_REF: 'refs/heads/main' },
    });
    expect(errors(run)).toEqual([]);
    const legs = (JSON.parse(run.outputs['matrix'] ?? '') as { include: { service: string }[] }).include.map((l) => l.service);
    expect(legs.sort()).toEqual(SERVICES);
    expect(run.outputs['risk']).toBe('high');
    expect(JSON.parse(run.outputs['risk-reasons'] ?? '[]')).toEqual([
      'high: critical build context (titan-execution; shared with titan-scavenger, titan-hunter, titan-sentinel) changed: examples/titan/images/titan-service/entrypoint.sh',
    ]);
  });

  it('sign: signs its stack profile into the manifest with its seven pinned images', async () => {
    for (const sha of ['a1'.repeat(20), 'b2'.repeat(20)]) {
      const run = await sign(sha);
      expect(run.status, run.log).toBe(0);
      bundles.push(run.outputs['bundle'] ?? '');
      ids.push(run.outputs['release-id'] ?? '');
    }
    const manifest = parseManifest(readFileSync(join(bundles[0] ?? '', 'manifest.json')));
    expect(Object.keys(manifest.images).sort()).toEqual(SERVICES);
    expect(manifest.compose).toEqual(['docker-compose.micro.yml', 'docker-compose.digests.yml']);
    expect(manifest.stack).toEqual(parseStackProfile(readFileSync(join(SOURCE, 'stack.yml'), 'utf8'), await readStackCompose(SOURCE, ['docker-compose.micro.yml'])));
    expect(manifest.stack?.groups.map((g) => g.services)).toEqual([['titan-scavenger', 'titan-hunter', 'titan-sentinel'], ['titan-execution'], ['titan-brain']]);
  });

  it('deploy and verify: the stack runs, healthy, on its own ports, with policy parity from titan-brain and titan-execution', async () => {
    const first = await deploy(bundles[0] ?? '');
    expect(errors(first)).toEqual([]);
    expect(first.outputs).toMatchObject({ result: 'deployed', 'release-id': ids[0] });
    expect(Object.entries(states()).sort()).toEqual(SERVICES.map((s) => [s, 'running']));
    expect(docker(['port', `${PROJECT}_titan-brain_1`, '3100/tcp']).trim()).toBe('127.0.0.1:8100');

    const verify = await runActionBundle('action-verify', { inputs: { ...connection(), 'public-key': host.releasePublicKey, timeout: '60' } });
    expect(errors(verify)).toEqual([]);
    expect(verify.outputs['healthy']).toBe('true');
    // The service table: one row per service of the manifest, each running and healthy.
    const rows = verify.summary.split('\n').map((l) => /^\| \*\*([a-z0-9-]+)\*\* \| ✅ running \| ✅ healthy \| /.exec(l)?.[1]).filter((s) => s !== undefined);
    expect(rows.sort()).toEqual(SERVICES);
    for (const service of TITAN) {
      expect(verify.summary).toMatch(new RegExp(`\\| \\*\\*${service}\\*\\* \\| ✅ running \\| ✅ healthy \\| ✅ sha256:[0-9a-f]{12} \\| ✅ ok, DISARMED \\|`));
    }
    expect(verify.summary).not.toContain('❌');

    const second = await deploy(bundles[1] ?? '');
    expect(errors(second)).toEqual([]);
    expect(second.outputs).toMatchObject({ result: 'deployed', 'release-id': ids[1], 'previous-release-id': ids[0] });
  });

  it('rollback: the HARD_HALT goes to the subject and responder of its profile; stop halts its five services in order; rollback returns to the first release', async () => {
    await brainSubscribed(Date.now() / 1000 - 120);
    const before = Date.now() / 1000;
    const stop = await rollback({ mode: 'stop', reason: 'staging drill' });
    expect(errors(stop)).toEqual([]);
    expect(stop.outputs).toMatchObject({ result: 'stopped', 'halt-acknowledged': 'true' });
    expect(stop.log).toContain('HARD_HALT acknowledged by titan-brain');
    const stopped = stopEvents(before);
    expect([...stopped].sort()).toEqual([...TITAN].sort());
    const at = (s: string): number => stopped.indexOf(s);
    expect(Math.max(at('titan-scavenger'), at('titan-hunter'), at('titan-sentinel'))).toBeLessThan(at('titan-execution'));
    expect(at('titan-execution')).toBeLessThan(at('titan-brain'));
    expect(states()).toMatchObject({ nats: 'running', postgres: 'running', 'titan-brain': 'exited', 'titan-sentinel': 'exited' });

    const back = await rollback({ mode: 'rollback', to: ids[0] ?? '', reason: 'staging drill: back to the first release' });
    expect(errors(back)).toEqual([]);
    expect(back.outputs).toMatchObject({ result: 'rolled-back', 'release-id': ids[0] });
    expect(Object.entries(states()).sort()).toEqual(SERVICES.map((s) => [s, 'running']));
    const journal = readFileSync(join(appDir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.map((j) => `${String(j['action'])} ${String(j['result'])}`)).toEqual(['deploy deployed', 'deploy deployed', 'rollback stopped', 'rollback rolled-back']);
  });
});
