import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { createEncryptedDeployKey, type EncryptedDeployKey } from '@titan/test-host/encrypted-key';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import { artifactsOfRun } from '@titan/workflow-runner/artifact-store';
import { startGitHubApiStandIn, type GitHubApiStandIn } from '@titan/workflow-runner/github-api';
import type { LocalGitHub } from '@titan/workflow-runner/local-github';
import type { ApprovalRequest, RunResult } from '@titan/workflow-runner/run-model';
import { hostValue, hostValues, testHostGitHub } from '@titan/workflow-runner/test-host-github';
import { layOutTitanRepository, prepareStagingHost, STAGING_FOLDER, type StagingHost } from '@titan/workflow-runner/staging-stack';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { RECOVERY_DROPLET, RECOVERY_PROJECT, type RecoveryHost, startRecoveryHost } from '@titan/workflow-runner/recovery-host';
import { bringDown, journalOf, prepareAppDir } from '../../packages/deploy/test/support/host-fixture.js';

/**
 * The workflows as users run them, read from their files by GitHub's own parser and run against
 * the test host: the Titan repository's release workflow (examples/workflows/titan-release.yml, the
 * README's quick start) calls deploy.yml@v1, which gates, plans, builds all 17 images with the real
 * Docker engine and registry, signs the release and the staging stack's bundle (same commit, same
 * digests), deploys the staging stack to staging (its own folder and project on the test host, the
 * staging posture), verifies, waits for production's approval and deploys the release there; then a broken release reverts by itself and never reaches
 * production; a run cancelled mid-deploy leaves no deployment in progress; a HARD_HALT from
 * rollback.yml reaches the host while a deploy holds its lock; then
 * rollback.yml restarts the stack; and copies of deploy.yml with a renamed output or input fail
 * their chain before the host is touched.
 */
const RELEASE_WORKFLOW = join(REPOSITORY_ROOT, 'examples/workflows/titan-release.yml');
const DEPLOY_WORKFLOW = join(REPOSITORY_ROOT, '.github/workflows/deploy.yml');
const ROLLBACK_WORKFLOW = join(REPOSITORY_ROOT, '.github/workflows/rollback.yml');
const BACKUP_WORKFLOW = join(REPOSITORY_ROOT, 'examples/workflows/titan-backup.yml');
const RECOVER_WORKFLOW = join(REPOSITORY_ROOT, 'examples/workflows/titan-recover.yml');

/** psql in a stack's Postgres container (found by its Compose labels), as the titan role. */
function psql(project: string, sql: string): string {
  const id = execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=postgres'], { encoding: 'utf8' }).trim();
  return execFileSync('docker', ['exec', '-i', id, 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'titan', '-d', 'titan'], { encoding: 'utf8', input: sql }).trim();
}

function explain(run: RunResult): string {
  return `run ${run.runId} ${run.conclusion}; chain errors: ${JSON.stringify(run.chainErrors)}\n${run.log.slice(-80).join('\n')}`;
}

function current(host: { appDir: string }): Promise<string> {
  return readlink(join(host.appDir, 'current')).then((target) => basename(target));
}

interface Manifest {
  images: Record<string, { image: string; digest: string }>;
  git: { sha: string };
  compose: string[];
}
const manifestOf = async (appDir: string, release: string): Promise<Manifest> => JSON.parse(await readFile(join(appDir, 'releases', release, 'manifest.json'), 'utf8')) as Manifest;
const STAGING_SERVICES = ['nats', 'postgres', 'titan-brain', 'titan-execution', 'titan-hunter', 'titan-scavenger', 'titan-sentinel'];

describe('deploy.yml and rollback.yml, run from their files against the test host', () => {
  let host: TestHost;
  let api: GitHubApiStandIn;
  let scratch: string;
  let titan: string;
  let github: LocalGitHub;
  const approvals: ApprovalRequest[] = [];
  let onStep: ((event: { runId: number; job: string; step: string }) => void) | undefined;
  let released = '';
  /** The staging stack's release staging runs now. */
  let stagingReleased = '';
  let staging: StagingHost;
  let stagingKey: EncryptedDeployKey;
  let spaces: SpacesPeer;
  let recovery: RecoveryHost;
  let operatorKey: string;
  let verifyKey: string;
  /** The release production ran last (staging's runs move only the staging folder on after it). */
  let productionRelease = '';
  /** The run whose release-bundle artifact recover.yml deployed. */
  let bundleRun = '';
  let backupId = '';
  let marker = '';
  let secretsWriter = '';

  beforeAll(async () => {
    // The test host, with an application folder of this file's own, laid out as provisioning lays it
    // out: what other test files leave in the host's folder is not this file's starting point.
    host = { ...loadTestHost(), appDir: prepareAppDir('workflows') };
    api = await startGitHubApiStandIn();
    scratch = await mkdtemp(join(tmpdir(), 'titan-workflows-'));
    // The Titan repository: the production example at its root, as the quick start assumes, and the
    // staging stack in staging/ (built from the root's image contexts); the staging host.
    titan = join(scratch, 'titan');
    layOutTitanRepository(host, titan);
    bringDown('wfstaging');
    staging = prepareStagingHost(host, 'workflows-staging', 'wfstaging');
    // Staging connects with a passphrase-protected key made now (TITAN_SSH_KEY_PASSPHRASE).
    stagingKey = await createEncryptedDeployKey(host);
    // Production's bucket for backup.yml and recover.yml, an operator's age key (restores) and the
    // verify key (the backup's runner proves each backup with it).
    spaces = await startSpacesPeer();
    operatorKey = await age.generateIdentity();
    verifyKey = await age.generateIdentity();
    const bucket = { TITAN_SPACES_ENDPOINT: spaces.endpoint, TITAN_SPACES_BUCKET: spaces.bucket, TITAN_SPACES_PATH_STYLE: 'true' };
    const bucketKeys = { TITAN_SPACES_ACCESS_KEY: spaces.accessKeyId, TITAN_SPACES_SECRET_KEY: spaces.secretAccessKey };
    const postgresIds = `${execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()}:${execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()}`;
    secretsWriter = api.issueToken({ secrets: 'write' }, 'operator');
    recovery = await startRecoveryHost(host, hostValues(host).replace(/titan-test\.invalid/g, 'titan-trading.net'));
    github = testHostGitHub({
      production: {
        secrets: { ...bucketKeys, TITAN_BACKUP_VERIFY_KEY: verifyKey, TITAN_NATS_BACKUP_PASSWORD: hostValue(host, 'NATS_BACKUP_PASSWORD') },
        vars: {
          ...bucket,
          TITAN_BACKUP_AGE_RECIPIENTS: `${await age.identityToRecipient(operatorKey)}\n${await age.identityToRecipient(verifyKey)}`,
          // No registry outside here: the proof's throwaway containers run the stack's own images (the host's binaries).
          TITAN_VERIFY_POSTGRES_IMAGE: host.images['postgres'] ?? '',
          TITAN_VERIFY_REDIS_IMAGE: host.images['redis'] ?? '',
          TITAN_VERIFY_NATS_IMAGE: host.images['nats'] ?? '',
          TITAN_VERIFY_DOCKER_OPTIONS: ['--volume=/usr:/usr:ro', '--volume=/etc:/etc:ro', `--user=${postgresIds}`].join('\n'),
        },
      },
      environments: {
        recovery: recovery.environment({
          vars: bucket,
          // An operator's token that may write the repository's environment secrets (provision.yml stores the new host with it).
          secrets: { ...bucketKeys, TITAN_BACKUP_RESTORE_KEY: operatorKey, TITAN_NATS_RESTORE_PASSWORD: hostValue(host, 'NATS_BRAIN_PASSWORD'), SECRETS_WRITER_TOKEN: secretsWriter },
        }),
      },
      stagingKey,
      staging,
      host,
      api,
      scratch: join(scratch, 'runs'),
      repository: { root: titan, name: 'titan/titan' },
      vars: { TITAN_DIGEST_CACHE: join(scratch, 'digest-cache'), TITAN_HEALTH_TIMEOUT: '30' },
      approve: (request) => {
        approvals.push(request);
        return true;
      },
      onStep: (event) => onStep?.(event),
      ...(process.env['TITAN_WORKFLOW_LOG'] === '1' ? { onLog: (line: string) => console.log(line) } : {}),
    });
  });

  afterAll(async () => {
    // The stack the workflows deployed publishes the example's ports: later test files need them.
    bringDown('titan', host.appDir);
    if (staging !== undefined) bringDown(staging.project, staging.appDir);
    await recovery?.close();
    await spaces?.close();
    await stagingKey.remove();
    await api.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the quick start: 17 images built once; the staging stack, pinned to those digests, to staging in its posture, verified; approved; the release to production', { timeout: 900_000 }, async () => {
    const sha = randomBytes(20).toString('hex');
    // What the staging stack's containers run once staging is done, as production's job begins.
    let running = '';
    onStep = (event) => {
      if (running !== '' || event.job !== 'deploy/deploy to production') return;
      const containers = execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${staging.project}`], { encoding: 'utf8' }).trim().split('\n');
      running = execFileSync('docker', ['inspect', '--format', '{{index .Config.Labels "com.docker.compose.service"}} {{.Config.Image}}', ...containers], { encoding: 'utf8' });
    };
    const run = await github.run({ workflow: RELEASE_WORKFLOW, event: 'push', sha, ref: 'refs/heads/main' }).finally(() => {
      onStep = undefined;
    });
    expect(run.conclusion, explain(run)).toBe('success');
    expect(run.chainErrors).toEqual([]);

    const deploy = run.jobs['deploy'];
    released = deploy?.outputs['release-id'] ?? '';
    productionRelease = released;
    stagingReleased = deploy?.outputs['staging-release-id'] ?? '';
    expect(released).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${sha.slice(0, 12)}$`));
    expect(stagingReleased).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${sha.slice(0, 12)}$`));
    expect(deploy?.outputs).toEqual({ 'release-id': released, 'staging-release-id': stagingReleased, result: 'deployed', url: 'https://titan-trading.net' });
    expect(await current(host)).toBe(released);
    expect(await current(staging)).toBe(stagingReleased);

    // Every image built by its own leg with the real engine, each leg's digest handed on and signed.
    const build = run.jobs['deploy/build'];
    expect(build?.legs).toHaveLength(17);
    const manifest = await manifestOf(host.appDir, released);
    const stagingManifest = await manifestOf(staging.appDir, stagingReleased);
    const built: Record<string, string> = {};
    for (const leg of build?.legs ?? []) {
      const service = String(leg.matrix['service']);
      const digest = leg.steps.find((s) => s.id === 'build')?.outputs['digest'] ?? '';
      expect(digest, service).toMatch(/^sha256:[0-9a-f]{64}$/);
      built[service] = digest;
      expect(manifest.images[service]?.digest, service).toBe(digest);
      expect(leg.permissions).toMatchObject({ contents: 'read', packages: 'write' });
    }
    // Staging ran the staging stack (docker-compose.micro.yml, its seven services), pinned to the
    // very digests the legs built for production; both bundles are of the run's commit.
    expect(stagingManifest.compose).toEqual(['docker-compose.micro.yml', 'docker-compose.digests.yml']);
    expect(Object.keys(stagingManifest.images).sort()).toEqual(STAGING_SERVICES);
    for (const service of STAGING_SERVICES) {
      expect(stagingManifest.images[service], service).toEqual(manifest.images[service]);
      expect(stagingManifest.images[service]?.digest, service).toBe(built[service]);
    }
    expect([manifest.git.sha, stagingManifest.git.sha]).toEqual([sha, sha]);
    expect(running.trim().split('\n').map((l) => l.split(' ')[0]).sort()).toEqual(STAGING_SERVICES);
    for (const line of running.trim().split('\n')) {
      const [service, image] = line.split(' ') as [string, string];
      expect(image, service).toBe(`${manifest.images[service]?.image ?? ''}@${built[service] ?? ''}`);
    }
    // The staging gate ran in the staging posture: the staging defaults were warnings, said so.
    const gate = run.jobs['deploy/gate']?.legs[0]?.log.join('\n') ?? '';
    expect(gate).toContain(`Staging posture: ${staging.required.length} value(s) that the production gate refuses (development defaults, weak values) are let through as warnings.`);
    // Production checked, before deploying, that it runs every image staging ran, of the same commit.
    const production = run.jobs['deploy/deploy-production']?.legs[0];
    const check = production?.steps.find((s) => s.name === 'The bundle is the one signed, and runs what staging ran')?.log.join('\n') ?? '';
    expect(check).toContain(`of commit ${sha}, the commit staging ran`);
    for (const service of Object.keys(manifest.images)) {
      expect(check, service).toContain(`${service} ${built[service] ?? ''}: ${STAGING_SERVICES.includes(service) ? 'run by staging' : 'not in the staging stack; built in the same run'}`);
    }
    expect(run.jobs['deploy/deploy-staging']?.outputs['release-id']).toBe(stagingReleased);
    expect(run.jobs['deploy/deploy-production']?.outputs['release-id']).toBe(released);

    // Exactly one GitHub deployment per environment, made by action-deploy (none made automatically).
    const deployments = api.deployments.filter((d) => d.runId === String(run.runId));
    expect(deployments.map((d) => [d.environment, d.createdBy, d.ref])).toEqual([
      ['staging', 'api', sha],
      ['production', 'api', sha],
    ]);
    for (const d of deployments) expect(d.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(api.refusals).toEqual([]);
    expect(approvals.filter((a) => a.runId === run.runId)).toEqual([{ runId: run.runId, environment: 'production', job: 'deploy/deploy to production' }]);

    // The summary a person reads, and no secret anywhere in the log.
    expect(run.jobs['deploy/report']?.legs[0]?.summary).toContain(`## Titan release ${released}: deployed`);
    const log = run.log.join('\n');
    expect(log).toContain('Titan release');
    for (const secret of [readReleaseKey(host), (await readFile(host.privateKeyPath, 'utf8')).split('\n')[1] ?? 'x', stagingKey.passphrase]) expect(log).not.toContain(secret);
    // Staging's deploy, verify and (below) halt went through the encrypted key and its passphrase
    // (the host, an environment secret as provision.yml stores it, is masked like every secret).
    expect(run.jobs['deploy/deploy-staging']?.legs[0]?.log.join('\n')).toMatch(/Connect to deploy@\*\*\*/);
  });

  it('deploys queued on one environment run one at a time, in the order they reached the queue: none cancelled, the later runs signing meanwhile', { timeout: 600_000 }, async () => {
    // Three runs of deploy.yml (staging only) started together, as three pushes would start them.
    const shas = [0, 1, 2].map(() => randomBytes(20).toString('hex'));
    const journalBefore = journalOf(staging.appDir).length;
    const seen: { runId: number; job: string; step: string; stagingDone: string[] }[] = [];
    const doneLines = () => github.concurrency.events.filter((e) => /^titan-deploy-staging: run \d+ deploy to staging done$/.test(e));
    onStep = (event) => seen.push({ ...event, stagingDone: doneLines() });
    const handles = shas.map((sha) => github.start({ workflow: DEPLOY_WORKFLOW, event: 'workflow_dispatch', sha, inputs: { source: '.', 'staging-source': STAGING_FOLDER, production: false, 'digest-cache': join(scratch, 'digest-cache'), 'health-timeout': 30 } }));
    const runs = await Promise.all(handles.map((h) => h.result)).finally(() => {
      onStep = undefined;
    });
    const [a, b, c] = handles.map((h) => h.runId) as [number, number, number];
    for (const run of runs) {
      expect(run.conclusion, explain(run)).toBe('success');
      expect(run.jobs['report']?.outputs['result']).toBe('staged');
      expect(run.jobs['deploy-production']?.result).toBe('skipped');
    }
    // GitHub's queue for the group: the first run to reach its deploy job deployed; the two others
    // waited behind it, the newer one not cancelling the one pending (queue: max), and each ran, in
    // the order they had come to wait, once the one before was done.
    const group = github.concurrency.events.filter((e) => e.startsWith('titan-deploy-staging: ') && new RegExp(`run (${a}|${b}|${c}) `).test(e));
    const order = [/run (\d+) deploy to staging runs$/, /run (\d+) deploy to staging waits/, /run (\d+) deploy to staging waits/].map((pattern, i) => Number(group.filter((e) => pattern.test(e))[i === 2 ? 1 : 0]?.match(pattern)?.[1]));
    expect([...order].sort((x, y) => x - y)).toEqual([a, b, c]);
    const [first, second, third] = order as [number, number, number];
    expect(group).toEqual([
      `titan-deploy-staging: run ${first} deploy to staging runs`,
      `titan-deploy-staging: run ${second} deploy to staging waits for run ${first} deploy to staging`,
      `titan-deploy-staging: run ${third} deploy to staging waits for run ${first} deploy to staging`,
      `titan-deploy-staging: run ${first} deploy to staging done`,
      `titan-deploy-staging: run ${second} deploy to staging runs`,
      `titan-deploy-staging: run ${second} deploy to staging done`,
      `titan-deploy-staging: run ${third} deploy to staging runs`,
      `titan-deploy-staging: run ${third} deploy to staging done`,
    ]);
    // The later runs gated and signed while the first deployed: their signing started before it was done.
    for (const later of [second, third]) {
      const signing = seen.find((e) => e.runId === later && e.step === 'Sign the release bundle');
      expect(signing, `run ${later} signed`).toBeDefined();
      expect(signing?.stagingDone, `run ${later} signed while run ${first} deployed`).toEqual([]);
    }
    // On the host: three deploys one after the other, each on top of the one before, none waiting
    // for the host's deploy lock (GitHub's queue had ordered them already).
    const ids = order.map((id) => runs.find((r) => r.runId === id)?.jobs['sign']?.outputs['staging-release-id'] ?? '');
    const deploys = journalOf(staging.appDir).slice(journalBefore).filter((e) => e['action'] === 'deploy');
    expect(deploys.map((e) => [e['release'], e['result']])).toEqual(ids.map((id) => [id, 'deployed']));
    expect(deploys.map((e) => e['previous'])).toEqual([stagingReleased, ids[0], ids[1]]);
    for (const run of runs) {
      const waited = /Took the deploy lock .* after (\d+\.\d) s/.exec(run.jobs['deploy-staging']?.legs[0]?.log.join('\n') ?? '')?.[1];
      expect(Number(waited ?? 'NaN'), `run ${run.runId} waited on the host lock`).toBeLessThan(5);
    }
    expect(await current(staging)).toBe(ids[2]);
    expect(await current(host), 'production is not touched by staging-only runs').toBe(released);
    stagingReleased = ids[2] ?? stagingReleased;
  });

  it('a broken release: staging verification fails and the host returns to the good release by itself; production never sees it', { timeout: 600_000 }, async () => {
    expect(stagingReleased, 'the first test deploys the good release').not.toBe('');
    // titan-hunter broken, in the release and in the staging stack (the same build).
    const files = [join(titan, 'services.yml'), join(titan, STAGING_FOLDER, 'services.yml')];
    const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    for (const [i, text] of texts.entries()) {
      const broken = text.replace('{ SERVICE: titan-hunter }', '{ SERVICE: titan-hunter, BROKEN: "1" }');
      expect(broken).not.toBe(text);
      await writeFile(files[i] ?? '', broken);
    }
    try {
      const run = await github.run({ workflow: RELEASE_WORKFLOW, event: 'push', sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' });
      expect(run.conclusion, explain(run)).toBe('failure');
      // Only the changed image was built again; the other 16 digests were reused.
      expect(run.jobs['deploy/build']?.legs.map((l) => l.matrix['service'])).toEqual(['titan-hunter']);
      expect(run.jobs['deploy']?.outputs).toMatchObject({ result: 'rolled-back', url: '' });
      expect(run.jobs['deploy/deploy-staging']?.outputs['result']).toBe('rolled-back');
      expect(run.jobs['deploy/deploy-production']?.result).toBe('skipped');
      expect(await current(staging)).toBe(stagingReleased);
      expect(await current(host)).toBe(released);
      expect(run.jobs['announce']?.legs[0]?.summary).toContain('rolled-back');
      const deployments = api.deployments.filter((d) => d.runId === String(run.runId));
      expect(deployments.map((d) => [d.environment, d.statuses.map((s) => s.state)])).toEqual([['staging', ['in_progress', 'failure']]]);
    } finally {
      for (const [i, text] of texts.entries()) await writeFile(files[i] ?? '', text);
    }
  });

  it('a run cancelled while its deploy holds the host leaves no deployment in progress and the good release running', { timeout: 600_000 }, async () => {
    const before = await current(staging);
    let cancelled = false;
    const handle = github.start({ workflow: RELEASE_WORKFLOW, event: 'push', sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' });
    onStep = (event) => {
      if (!cancelled && event.job === 'deploy/deploy to staging' && event.step.startsWith('Deploy ')) {
        cancelled = true;
        void (async () => {
          const lock = join(staging.appDir, '.deploy.lock.holder');
          for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
          handle.cancel(); // SIGINT to the deploy, SIGTERM 7.5 s later, SIGKILL 2.5 s after that
        })();
      }
    };
    const run = await handle.result.finally(() => {
      onStep = undefined;
    });
    expect(cancelled).toBe(true);
    expect(run.conclusion, explain(run)).toBe('cancelled');
    expect(run.jobs['deploy/deploy-staging']?.result).toBe('cancelled');
    expect(run.jobs['deploy/deploy-production']?.result).toBe('skipped');
    const deployments = api.deployments.filter((d) => d.runId === String(run.runId));
    expect(deployments.map((d) => d.environment)).toEqual(['staging']);
    expect(deployments[0]?.statuses.at(-1)?.state).not.toBe('in_progress');
    expect(existsSync(join(staging.appDir, '.deploy.lock.holder')), 'the cancelled deploy left the lock free').toBe(false);
    expect(await current(staging)).toBe(before);
  });

  it('a HARD_HALT from rollback.yml reaches the host while a deploy holds its lock, and that deploy stops', { timeout: 600_000 }, async () => {
    let halt: Promise<RunResult> | undefined;
    let deployFinished = false;
    onStep = (event) => {
      if (halt === undefined && event.job === 'deploy/deploy to staging' && event.step.startsWith('Deploy ')) {
        halt = (async () => {
          const lock = join(staging.appDir, '.deploy.lock.holder');
          for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
          expect(existsSync(lock), 'the deploy holds the host lock').toBe(true);
          const result = await github.run({ workflow: ROLLBACK_WORKFLOW, event: 'workflow_dispatch', inputs: { environment: 'staging', mode: 'halt', reason: 'operator stops trading' } });
          expect(deployFinished, 'the halt finished while the deploy still ran').toBe(false);
          return result;
        })();
      }
    };
    const run = await github
      .run({ workflow: RELEASE_WORKFLOW, event: 'push', sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' })
      .finally(() => {
        deployFinished = true;
        onStep = undefined;
      });
    expect(halt, 'the halt was sent during the deploy').toBeDefined();
    const halted = await (halt as Promise<RunResult>);
    expect(halted.conclusion, explain(halted)).toBe('success');
    expect(halted.jobs['rollback']?.outputs).toMatchObject({ result: 'halted', 'halt-acknowledged': 'true' });
    // The halt recorded its own deployment (the job's environment), with its result.
    expect(api.deployments.filter((d) => d.runId === String(halted.runId)).map((d) => [d.environment, d.createdBy, d.statuses.at(-1)?.state])).toEqual([['staging', 'workflow', 'success']]);

    expect(run.conclusion, explain(run)).toBe('failure');
    expect(run.jobs['deploy/deploy-staging']?.legs[0]?.log.join('\n')).toMatch(/An operator halted the host/);
    expect(run.jobs['deploy/deploy-production']?.result).toBe('skipped');
    expect(await current(staging)).toBe(stagingReleased);
  });

  it('rollback.yml restarts the current release in production after its approval, verified', { timeout: 300_000 }, async () => {
    const run = await github.run({ workflow: ROLLBACK_WORKFLOW, event: 'workflow_dispatch', inputs: { environment: 'production', mode: 'restart', reason: 'restart after the halt' } });
    expect(run.conclusion, explain(run)).toBe('success');
    expect(run.jobs['rollback']?.outputs).toMatchObject({ result: 'restarted', 'release-id': released, 'halt-acknowledged': 'true' });
    expect(await readFile(join(host.appDir, 'journal.jsonl'), 'utf8')).toMatch(/restart/);
    expect(approvals.filter((a) => a.runId === run.runId).map((a) => a.environment)).toEqual(['production']);
    expect(await current(host)).toBe(released);
  });

  it('a copy of deploy.yml with a renamed output, or a renamed input, fails its chain before the host is touched', { timeout: 300_000 }, async () => {
    const original = await readFile(DEPLOY_WORKFLOW, 'utf8');
    const journal = await readFile(join(host.appDir, 'journal.jsonl'), 'utf8');
    const stagingJournal = await readFile(join(staging.appDir, 'journal.jsonl'), 'utf8');
    const mutations: [string, string, RegExp][] = [
      ['      has-builds: ${{ steps.plan.outputs.has-builds }}', '      builds: ${{ steps.plan.outputs.has-builds }}', /needs\.matrix\.outputs has no "has-builds"/],
      ['          bundle: ${{ runner.temp }}/release/${{ needs.sign.outputs.staging-release-id }}\n          public-key', '          bundle-path: ${{ runner.temp }}/release/${{ needs.sign.outputs.staging-release-id }}\n          public-key', /Unexpected input\(s\) 'bundle-path'/],
    ];
    for (const [from, to, error] of mutations) {
      expect(original).toContain(from);
      const copy = join(scratch, `deploy-${mutations.findIndex((m) => m[0] === from)}.yml`);
      await writeFile(copy, original.replace(from, to));
      const run = await github.run({ workflow: copy, event: 'workflow_dispatch', inputs: { source: '.', 'staging-source': STAGING_FOLDER, 'digest-cache': join(scratch, 'digest-cache'), 'health-timeout': 30 } });
      expect(run.conclusion, explain(run)).toBe('failure');
      expect(run.chainErrors.join('\n')).toMatch(error);
    }
    expect(await readFile(join(host.appDir, 'journal.jsonl'), 'utf8')).toBe(journal);
    expect(await readFile(join(staging.appDir, 'journal.jsonl'), 'utf8')).toBe(stagingJournal);
    expect(await current(host)).toBe(released);
  });

  it('backup.yml (the nightly example) backs production up to Spaces, encrypted, proven by a restore on the runner', { timeout: 600_000 }, async () => {
    marker = `recovery-${randomBytes(6).toString('hex')}`;
    psql('titan', `INSERT INTO venue_account (venue, label) VALUES ('binance', '${marker}')`);
    const run = await github.run({ workflow: BACKUP_WORKFLOW, event: 'workflow_dispatch' });
    expect(run.conclusion, explain(run)).toBe('success');
    const outputs = run.jobs['backup']?.outputs ?? {};
    backupId = outputs['backup-id'] ?? '';
    expect(backupId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+$/);
    expect(outputs).toMatchObject({ complete: 'true', verified: 'true' });
    const stored = spaces.storedKeys().filter((k) => k.startsWith(`titan/production/${backupId}/`));
    expect(stored).toContain(`titan/production/${backupId}/manifest.json`);
    expect(stored.some((k) => k.startsWith(`titan/production/${backupId}/postgres/`) && k.endsWith('.age'))).toBe(true);
    // A backup is no deployment: production's deployments are untouched by it.
    expect(api.deployments.filter((d) => d.runId === String(run.runId))).toEqual([]);
    const log = run.log.join('\n');
    for (const secret of [operatorKey, verifyKey, hostValue(host, 'NATS_BACKUP_PASSWORD')]) expect(log).not.toContain(secret);
  });

  it('recover.yml: production rebuilt on a new Droplet from its last good release and latest backup, verified; the old host untouched', { timeout: 900_000 }, async () => {
    expect(backupId, 'the backup test took a backup').not.toBe('');
    // The disaster: production's stack is gone, containers and data volumes. Nothing of recover.yml
    // may touch the old host: its folder is compared afterwards.
    bringDown('titan', host.appDir);
    const oldHost = async () => ({
      journal: await readFile(join(host.appDir, 'journal.jsonl'), 'utf8'),
      current: await current(host),
      releases: execFileSync('ls', [join(host.appDir, 'releases')], { encoding: 'utf8' }),
    });
    const before = await oldHost();
    const handle = github.start({ workflow: RECOVER_WORKFLOW, event: 'workflow_dispatch' });
    // DigitalOcean boots the Droplet it was asked for, with the user data it was given.
    await recovery.bootWhenCreated(120_000).catch((error: unknown) => {
      handle.cancel();
      throw error;
    });
    const run = await handle.result;
    expect(run.conclusion, explain(run)).toBe('success');
    expect(run.chainErrors).toEqual([]);

    // The last good release of production (its newest successful GitHub deployment), from its run's bundle.
    expect(run.jobs['recover/release']?.outputs['release-id']).toBe(productionRelease);
    bundleRun = run.jobs['recover/release']?.outputs['run-id'] ?? '';
    expect(run.jobs['recover']?.outputs).toMatchObject({ 'release-id': productionRelease, 'backup-id': backupId, address: '127.0.0.1' });
    expect(run.jobs['recover']?.outputs['known-hosts']).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${recovery.sshPort} ssh-ed25519 `));
    recovery.double.assertValid();
    expect([...recovery.double.world.droplets.values()].map((d) => (d as { name: string }).name)).toEqual([RECOVERY_DROPLET]);

    // The new host runs that release, with production's data as the backup held it, DISARMED.
    expect(basename(await readlink(join(recovery.appDir, 'current')))).toBe(productionRelease);
    expect(psql(RECOVERY_PROJECT, `SELECT label FROM venue_account WHERE label = '${marker}'`)).toBe(marker);
    const journal = (await readFile(join(recovery.appDir, 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.map((e) => [e['action'], e['result']])).toEqual([['deploy', 'deployed'], ['restore', 'restored']]);
    expect(journal[1]).toMatchObject({ backup: backupId, mode: 'DISARMED' });

    // What the operator reads: each step and how long it took.
    const summary = run.jobs['recover/recover']?.legs[0]?.summary ?? '';
    expect(summary).toContain('## ✅ production recovered on a new host (recovery, 127.0.0.1)');
    expect(summary).toContain(`Release ${productionRelease}, backup ${backupId}; the old host was not touched.`);
    for (const step of ['find the last good release, provision the Droplet', 'deploy the signed release', 'restore the backup into the stack (started DISARMED)', 'verify', 'in all']) {
      expect(summary).toMatch(new RegExp(`\\| ${step.replace(/[()]/g, '\\$&')} \\| \\d+ s \\|`));
    }
    const deployments = api.deployments.filter((d) => d.runId === String(run.runId));
    expect(deployments.map((d) => [d.environment, d.createdBy, d.statuses.at(-1)?.state])).toEqual([['recovery', 'api', 'success']]);
    // provision.yml stored the new host in the recovery environment's secrets, through GitHub's
    // secrets API: sealed for the environment's public key (the peer opened each box), nothing else written.
    const knownHosts = run.jobs['recover']?.outputs['known-hosts'] ?? '';
    expect(api.secretWrites.map((w) => [w.environment, w.name, w.value]).sort()).toEqual([
      ['recovery', 'TITAN_KNOWN_HOSTS', knownHosts],
      ['recovery', 'TITAN_SSH_HOST', '127.0.0.1'],
    ]);
    expect(api.refusals).toEqual([]);
    expect(await oldHost()).toEqual(before);
    const log = run.log.join('\n');
    for (const secret of [operatorKey, recovery.deployKey.split('\n')[1] ?? 'x', hostValue(host, 'NATS_BRAIN_PASSWORD'), secretsWriter]) expect(log).not.toContain(secret);
  });

  it("recover.yml once the last good release's signed bundle has expired: stopped with that error before any Droplet is made", { timeout: 120_000 }, async () => {
    // 90 days later: the run that deployed production's last good release no longer has its bundle.
    expect(bundleRun, 'recover.yml found the bundle of a run').toMatch(/^\d+$/);
    const store = await artifactsOfRun(join(scratch, 'runs'), Number(bundleRun));
    expect(store, `run ${bundleRun} keeps artifacts`).toBeDefined();
    await store?.expire('release-bundle');
    const droplets = [...recovery.double.world.droplets.keys()];
    const deploymentsBefore = api.deployments.length;

    const run = await github.run({ workflow: RECOVER_WORKFLOW, event: 'workflow_dispatch' });
    expect(run.conclusion).toBe('failure');
    expect(run.jobs['recover/release']?.result).toBe('failure');
    const log = run.log.join('\n');
    expect(log).toMatch(new RegExp(`The signed bundle of ${productionRelease} \\(run ${bundleRun}'s release-bundle artifact\\) expired on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: GitHub keeps a run's artifacts for 90 days`));
    // Nothing after it ran: no Droplet asked for, no deployment made, nothing stored.
    for (const [id, job] of Object.entries(run.jobs)) if (id.startsWith('recover/') && id !== 'recover/release') expect(job.result, id).toBe('skipped');
    expect([...recovery.double.world.droplets.keys()]).toEqual(droplets);
    expect(api.deployments.length).toBe(deploymentsBefore);
    expect(api.refusals).toEqual([]);
  });
});
