/**
 * The main job's pipeline, run as GitHub would run it but on this machine (scripts/demo calls it):
 * the Titan repository's release workflow (examples/workflows/titan-release.yml, the README's quick
 * start) is pushed to main; it calls deploy.yml@v1, read from this working tree by GitHub's own
 * parser: readiness gate (staging posture) -> build matrix -> one build leg per image (real docker
 * build and push) -> sign the release and the staging stack's bundle (same commit, same digests)
 * -> deploy the staging stack to staging (its own folder and Compose project on the test host) ->
 * verify -> production's approval -> the release to production -> verify. Then a release whose titan-hunter is broken is pushed: staging's verification fails,
 * the host returns to the good release by itself and production never sees it. Then the nightly
 * backup (examples/workflows/titan-backup.yml calling backup.yml@v1) backs production up to an S3
 * peer (s3rver behind a checking front), encrypted, and proves it by a restore on the runner; and
 * the restore workflow (examples/workflows/titan-restore.yml) restores that backup into a new
 * database beside production's own, checked table by table. Last, the disaster: production's stack
 * and data are removed, and recover.yml (examples/workflows/titan-recover.yml) provisions a new
 * Droplet (the spec-validated DigitalOcean double; a stand-in booted with cloud-init), deploys the
 * last good signed release to it, restores the latest backup and verifies, without touching the old
 * host's folder. Each step's log is shown as a runner
 * shows it (secrets masked), then each run's jobs, outputs, GitHub deployments and the host's
 * `current`.
 *
 *   node --import ./scripts/json-modules.mjs scripts/demo-pipeline.ts   (Node 24, test host up, bundles built)
 *
 * Erasable TypeScript only: Node runs it with type stripping; it imports the libraries' lib/ builds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as age from 'age-encryption';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { startSpacesPeer } from '@titan/test-host/spaces-peer';
import { loadTestHost } from '@titan/test-host/test-host';
import { startGitHubApiStandIn } from '@titan/workflow-runner/github-api';
import type { RunResult } from '@titan/workflow-runner/run-model';
import { startRecoveryHost } from '@titan/workflow-runner/recovery-host';
import { hostValue, hostValues, testHostGitHub } from '@titan/workflow-runner/test-host-github';
import { bringDown } from '@titan/test-host/stack-teardown';
import { layOutTitanRepository, prepareStagingHost, STAGING_FOLDER } from '@titan/workflow-runner/staging-stack';

const bold = '\x1b[1m';
const dim = '\x1b[2m';
const green = '\x1b[32m';
const red = '\x1b[31m';
const reset = '\x1b[0m';
const step = (text: string): void => console.log(`\n${bold}━━ ${text}${reset}`);
const note = (text: string): void => console.log(`${dim}${text}${reset}`);

const host = loadTestHost();
const work = mkdtempSync(join(tmpdir(), 'titan-demo-'));
const api = await startGitHubApiStandIn();
// Spaces for the backup, and two age keys: an operator's (offline in real life; here it restores in
// step 5) and the verify key, whose identity the backup's runner holds.
const spaces = await startSpacesPeer();
const operatorKey = await age.generateIdentity();
const verifyKey = await age.generateIdentity();
const postgresIds = `${execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()}:${execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()}`;
// recover.yml's new host: the DigitalOcean double, the Droplet stand-in and the `recovery` environment.
const recovery = await startRecoveryHost(host, hostValues(host).replace(/titan-test\.invalid/g, 'titan-trading.net'));
let failed = false;
try {
  // The Titan repository: the sample release source at its root, as the quick start assumes, the
  // staging stack in staging/; the staging host: a folder and Compose project of its own.
  const titan = join(work, 'titan');
  layOutTitanRepository(host, titan);
  const leftover = execFileSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.compose.project=titanstaging'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (leftover.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...leftover], { stdio: 'ignore' });
  const staging = prepareStagingHost(host, 'demo-staging', 'titanstaging');
  const github = testHostGitHub({
    host,
    staging,
    api,
    scratch: join(work, 'runs'),
    repository: { root: titan, name: 'titan/titan' },
    // A folder digest cache (a self-hosted runner's): a second demo reuses what the first built.
    vars: { TITAN_DIGEST_CACHE: join(host.stateDir, 'digest-cache'), TITAN_HEALTH_TIMEOUT: '30' },
    production: {
      secrets: {
        TITAN_SPACES_ACCESS_KEY: spaces.accessKeyId,
        TITAN_SPACES_SECRET_KEY: spaces.secretAccessKey,
        TITAN_BACKUP_VERIFY_KEY: verifyKey,
        TITAN_BACKUP_RESTORE_KEY: operatorKey,
        TITAN_NATS_BACKUP_PASSWORD: hostValue(host, 'NATS_BACKUP_PASSWORD'),
      },
      vars: {
        TITAN_SPACES_ENDPOINT: spaces.endpoint,
        TITAN_SPACES_BUCKET: spaces.bucket,
        TITAN_SPACES_PATH_STYLE: 'true',
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
        vars: { TITAN_SPACES_ENDPOINT: spaces.endpoint, TITAN_SPACES_BUCKET: spaces.bucket, TITAN_SPACES_PATH_STYLE: 'true' },
        secrets: {
          TITAN_SPACES_ACCESS_KEY: spaces.accessKeyId,
          TITAN_SPACES_SECRET_KEY: spaces.secretAccessKey,
          TITAN_BACKUP_RESTORE_KEY: operatorKey,
          TITAN_NATS_RESTORE_PASSWORD: hostValue(host, 'NATS_BRAIN_PASSWORD'),
          // An operator's token that may write environment secrets: provision.yml stores the new host with it.
          SECRETS_WRITER_TOKEN: api.issueToken({ secrets: 'write' }, 'operator'),
        },
      }),
    },
    approve: (request) => {
      console.log(`  ${bold}✔ ${request.environment}: deployment of ${request.job} approved${reset} ${dim}(by the environment's required reviewer; here, the demo)${reset}`);
      return true;
    },
    onLog: (line) => console.log(`  ${dim}│${reset} ${line}`),
  });
  const push = (what: string): Promise<RunResult> => {
    const sha = randomBytes(20).toString('hex');
    note(`  push to main of titan/titan (${what}), commit ${sha.slice(0, 12)}: .github/workflows/release.yml runs`);
    return github.run({ workflow: join(REPOSITORY_ROOT, 'examples/workflows/titan-release.yml'), event: 'push', sha, ref: 'refs/heads/main' });
  };
  const report = (run: RunResult): void => {
    console.log(`\n  ${bold}run ${run.runId}: ${run.conclusion}${reset}`);
    for (const job of Object.values(run.jobs)) {
      const legs = job.legs.length > 1 ? ` (${job.legs.length} legs)` : '';
      console.log(`    ${job.result === 'success' ? green : job.result === 'failure' ? red : dim}${job.result.padEnd(8)}${reset} ${job.id}${legs}`);
    }
    console.log(`    outputs of deploy.yml: ${JSON.stringify(run.jobs['deploy']?.outputs ?? {})}`);
    for (const d of api.deployments.filter((x) => x.runId === String(run.runId))) {
      console.log(`    GitHub deployment ${d.id} to ${d.environment} (by ${d.createdBy === 'api' ? 'action-deploy' : 'the job'}): ${d.statuses.map((s) => s.state).join(' -> ')}`);
    }
    console.log(`    production ${host.appDir}/current -> ${readlinkSync(join(host.appDir, 'current'))}`);
    console.log(`    staging ${staging.appDir}/current -> ${readlinkSync(join(staging.appDir, 'current'))}`);
    if (run.chainErrors.length > 0) console.log(`    ${red}broken chain: ${run.chainErrors.join('; ')}${reset}`);
  };

  step('1. The quick start: release.yml calls deploy.yml@v1: gate, matrix, build legs, sign, staging, production');
  const good = await push('the sample release');
  report(good);
  const release = good.jobs['deploy']?.outputs['release-id'] ?? '';
  const stagingRelease = good.jobs['deploy']?.outputs['staging-release-id'] ?? '';
  if (good.conclusion !== 'success' || good.jobs['deploy']?.outputs['result'] !== 'deployed') throw new Error('the release was not deployed to staging and production');

  step('2. The signed bundle (the run\'s release-bundle artifact), checked with nothing but the OpenSSL CLI and sha256sum');
  const bundle = join(good.artifacts, 'release-bundle');
  const der = join(work, 'pub.der');
  const pem = join(work, 'pub.pem');
  writeFileSync(der, Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(host.releasePublicKey, 'base64')]));
  execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', der, '-out', pem]);
  execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', join(bundle, 'manifest.json'), '-sigfile', join(bundle, 'manifest.sig')], { stdio: 'inherit' });
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string }[] };
  const sums = spawnSync('sha256sum', ['--quiet', '--strict', '-c', '-'], { cwd: bundle, input: manifest.files.map((f) => `${f.sha256}  ${f.path}\n`).join(''), encoding: 'utf8' });
  if (sums.status !== 0) throw new Error(`sha256sum: ${sums.stdout}${sums.stderr}`);
  console.log(`  OpenSSL verified manifest.sig; all ${manifest.files.length} files of ${basename(bundle)} (${release}) match their sha256; production ran this same bundle`);
  const check = good.jobs['deploy/deploy-production']?.legs[0]?.steps.find((s) => s.name === 'The bundle is the one signed, and runs what staging ran');
  note(`  before production deployed it, the image digests staging ran (${stagingRelease}, the staging stack) were checked against it:`);
  for (const line of check?.log ?? []) console.log(`    ${line}`);

  step('3. A release whose titan-hunter is broken (built with BROKEN=1): staging reverts by itself, production never sees it');
  for (const services of [join(titan, 'services.yml'), join(titan, STAGING_FOLDER, 'services.yml')]) {
    const text = readFileSync(services, 'utf8');
    writeFileSync(services, text.replace('{ SERVICE: titan-hunter }', '{ SERVICE: titan-hunter, BROKEN: "1" }'));
  }
  const broken = await push('titan-hunter broken');
  report(broken);
  const now = basename(readlinkSync(join(staging.appDir, 'current')));
  if (broken.jobs['deploy']?.outputs['result'] !== 'rolled-back' || now !== stagingRelease || broken.jobs['deploy/deploy-production']?.result !== 'skipped') {
    throw new Error(`expected the broken release rolled back on staging (current -> ${stagingRelease}), production skipped`);
  }
  note("  staging's journal (last two lines):");
  for (const line of readFileSync(join(staging.appDir, 'journal.jsonl'), 'utf8').trim().split('\n').slice(-2)) console.log(`    ${line}`);

  step('4. The nightly backup (backup.yml@v1): Postgres, Redis and the JetStream streams to Spaces, encrypted, proven by a restore on the runner');
  const backup = await github.run({ workflow: join(REPOSITORY_ROOT, 'examples/workflows/titan-backup.yml'), event: 'workflow_dispatch', ref: 'refs/heads/main' });
  const backedUp = backup.jobs['backup']?.outputs ?? {};
  console.log(`\n  ${bold}run ${backup.runId}: ${backup.conclusion}${reset}; outputs of backup.yml: ${JSON.stringify(backedUp)}`);
  if (backup.conclusion !== 'success' || backedUp['complete'] !== 'true' || backedUp['verified'] !== 'true') throw new Error('expected a complete backup, proven by its restore');
  const stored = spaces.storedKeys().filter((k) => k.includes(backedUp['backup-id'] ?? '?'));
  console.log(`  in the bucket: ${stored.join(', ')}`);

  step(`5. The restore (restore.yml): backup ${backedUp['backup-id'] ?? ''} into a new database beside production's own, checked table by table`);
  const restore = await github.run({ workflow: join(REPOSITORY_ROOT, 'examples/workflows/titan-restore.yml'), event: 'workflow_dispatch', ref: 'refs/heads/main', inputs: { backup: backedUp['backup-id'] ?? 'latest' } });
  const restored = restore.jobs['restore']?.outputs ?? {};
  console.log(`\n  ${bold}run ${restore.runId}: ${restore.conclusion}${reset}; outputs: ${JSON.stringify(restored)}`);
  const database = restored['database'] ?? '';
  if (restore.conclusion !== 'success' || restored['result'] !== 'restored' || database === '') throw new Error('expected the backup restored into a new database');
  const postgres = execFileSync('docker', ['ps', '-q', '--filter', 'label=com.docker.compose.project=titan', '--filter', 'label=com.docker.compose.service=postgres'], { encoding: 'utf8' }).trim();
  const tables = execFileSync('docker', ['exec', postgres, 'psql', '-X', '-At', '-U', 'postgres', '-d', database, '-c', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"], { encoding: 'utf8' }).trim();
  console.log(`  ${database} holds ${tables} tables, every row count as the backup recorded; dropping it again (production keeps its own)`);
  execFileSync('docker', ['exec', postgres, 'dropdb', '-U', 'postgres', database]);

  step('6. The disaster: production\'s stack and data are gone. recover.yml rebuilds it on a new Droplet from its last good release and latest backup');
  bringDown('titan', host.appDir);
  const oldHost = (): string => [readFileSync(join(host.appDir, 'journal.jsonl'), 'utf8'), readlinkSync(join(host.appDir, 'current')), execFileSync('ls', [join(host.appDir, 'releases')], { encoding: 'utf8' })].join('\n');
  const before = oldHost();
  note(`  production's containers and volumes removed; its folder ${host.appDir} is left as it was, and recover.yml must not touch it`);
  const recovering = github.start({ workflow: join(REPOSITORY_ROOT, 'examples/workflows/titan-recover.yml'), event: 'workflow_dispatch', ref: 'refs/heads/main' });
  // DigitalOcean boots the Droplet it was asked for, with the user data it was given.
  await recovery.bootWhenCreated(120_000).catch((error: unknown) => {
    recovering.cancel();
    throw error;
  });
  const recovered = await recovering.result;
  console.log(`\n  ${bold}run ${recovered.runId}: ${recovered.conclusion}${reset}; outputs: ${JSON.stringify(recovered.jobs['recover']?.outputs ?? {})}`);
  const recoveredCurrent = basename(readlinkSync(join(recovery.appDir, 'current')));
  if (recovered.conclusion !== 'success' || recoveredCurrent !== release) throw new Error(`expected production recovered on the new host running ${release} (current -> ${recoveredCurrent})`);
  if (oldHost() !== before) throw new Error("recover.yml changed the old host's folder");
  recovery.double.assertValid();
  note('  the recovery\'s part of the job summary, as the operator reads it:');
  const summary = recovered.jobs['recover/recover']?.legs[0]?.summary ?? '';
  for (const line of summary.slice(Math.max(0, summary.lastIndexOf('## ✅ production recovered'))).trim().split('\n')) console.log(`    ${line}`);
  console.log(`  every DigitalOcean API call matched its OpenAPI spec; the old host's journal, current and releases are as they were`);

  console.log(`\n${green}✔ demo complete:${reset} ${release} built once; the staging stack (${stagingRelease}) ran those digests on staging, then the release ran on production; the broken release was rolled back on staging by itself and never reached production; production was backed up, the backup proven by a restore on the runner and restored beside production's database; production, lost, was rebuilt on a new Droplet from that release and backup by recover.yml.`);
} catch (error: unknown) {
  failed = true;
  console.error(`${red}demo failed: ${error instanceof Error ? error.message : String(error)}${reset}`);
} finally {
  await recovery.close();
  await api.close();
  await spaces.close();
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
