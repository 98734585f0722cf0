/**
 * The main job's pipeline, run as GitHub would run it but on this machine (scripts/demo calls it):
 * the Titan repository's release workflow (examples/workflows/titan-release.yml, the README's quick
 * start) is pushed to main; it calls deploy.yml@v1, read from this working tree by GitHub's own
 * parser: readiness gate -> build matrix -> one build leg per image (real docker build and push)
 * -> sign -> deploy to staging -> verify -> production's approval -> the same bundle to production
 * -> verify. Then a release whose titan-hunter is broken is pushed: staging's verification fails,
 * the host returns to the good release by itself and production never sees it. Each step's log is
 * shown as a runner shows it (secrets masked), then each run's jobs, outputs, GitHub deployments
 * and the host's `current`.
 *
 *   node --import ./scripts/json-modules.mjs scripts/demo-pipeline.ts   (Node 24, test host up, bundles built)
 *
 * Erasable TypeScript only: Node runs it with type stripping; it imports the libraries' lib/ builds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { REPOSITORY_ROOT } from '@titan/test-host/action-run';
import { loadTestHost } from '@titan/test-host/test-host';
import { startGitHubApiStandIn } from '@titan/workflow-runner/github-api';
import type { RunResult } from '@titan/workflow-runner/run-model';
import { testHostGitHub } from '@titan/workflow-runner/test-host-github';

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
let failed = false;
try {
  // The Titan repository: the sample release source at its root, as the quick start assumes.
  const titan = join(work, 'titan');
  cpSync(host.example, titan, { recursive: true });
  execFileSync('git', ['init', '-q', titan]);
  const github = testHostGitHub({
    host,
    api,
    scratch: join(work, 'runs'),
    repository: { root: titan, name: 'titan/titan' },
    // A folder digest cache (a self-hosted runner's): a second demo reuses what the first built.
    vars: { TITAN_DIGEST_CACHE: join(host.stateDir, 'digest-cache'), TITAN_HEALTH_TIMEOUT: '30' },
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
    console.log(`    ${host.appDir}/current -> ${readlinkSync(join(host.appDir, 'current'))}`);
    if (run.chainErrors.length > 0) console.log(`    ${red}broken chain: ${run.chainErrors.join('; ')}${reset}`);
  };

  step('1. The quick start: release.yml calls deploy.yml@v1: gate, matrix, build legs, sign, staging, production');
  const good = await push('the sample release');
  report(good);
  const release = good.jobs['deploy']?.outputs['release-id'] ?? '';
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

  step('3. A release whose titan-hunter is broken (built with BROKEN=1): staging reverts by itself, production never sees it');
  const services = join(titan, 'services.yml');
  const text = readFileSync(services, 'utf8');
  writeFileSync(services, text.replace('{ SERVICE: titan-hunter, PORT: "8083" }', '{ SERVICE: titan-hunter, PORT: "8083", BROKEN: "1" }'));
  const broken = await push('titan-hunter broken');
  report(broken);
  const now = basename(readlinkSync(join(host.appDir, 'current')));
  if (broken.jobs['deploy']?.outputs['result'] !== 'rolled-back' || now !== release || broken.jobs['deploy/deploy-production']?.result !== 'skipped') {
    throw new Error(`expected the broken release rolled back on staging, production skipped and current -> ${release}`);
  }
  note('  journal (last two lines):');
  for (const line of readFileSync(join(host.appDir, 'journal.jsonl'), 'utf8').trim().split('\n').slice(-2)) console.log(`    ${line}`);
  console.log(`\n${green}✔ demo complete:${reset} ${release} deployed to staging and production from one signed bundle; the broken release was rolled back on staging by itself and never reached production.`);
} catch (error: unknown) {
  failed = true;
  console.error(`${red}demo failed: ${error instanceof Error ? error.message : String(error)}${reset}`);
} finally {
  await api.close();
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
