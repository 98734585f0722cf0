/**
 * The committed bundle (dist/index.js) run the way a runner runs it, under Node 24: INPUT_*
 * variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, against a stack of the verifier's own on
 * the real test host. Fails (never skips) without the test host: start it with scripts/test-host/up.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionRun, runActionBundle } from '@titan/test-host/action-run';
import type { VerifyReport } from '@titan/verify/verify-stack';
import { createVerifyStack, PROJECT, type VerifyStackFixture } from '../../packages/verify/test/verify-stack-fixture.js';

let stack: VerifyStackFixture;
let dir: string;
let sshKey: string;
let runs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'titan-verify-action-'));
  stack = await createVerifyStack();
  sshKey = await readFile(stack.host.privateKeyPath, 'utf8');
});

afterAll(async () => {
  await stack?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The committed bundle run like a runner; RUNNER_TEMP (where the report goes) outlives the run. */
async function runVerify(inputs: Record<string, string>): Promise<ActionRun> {
  runs += 1;
  const runnerTemp = join(dir, `run-${runs}`);
  await mkdir(runnerTemp);
  return runActionBundle('action-verify', { inputs, env: { RUNNER_TEMP: runnerTemp }, timeoutMs: 240_000 });
}

function connection(): Record<string, string> {
  return {
    host: stack.host.host,
    port: String(stack.host.port),
    user: stack.host.user,
    'ssh-key': sshKey,
    'known-hosts': stack.host.knownHosts,
    'app-dir': stack.appDir,
    project: PROJECT,
  };
}

function errorLines(run: ActionRun): string[] {
  return run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
}

describe('the verify action, run like a runner', () => {
  it('with no inputs fails with a ConfigurationError naming the missing input', async () => {
    const run = await runVerify({});
    expect(run.status).toBe(1);
    expect(errorLines(run)).toEqual(['::error::Configuration error: Input required and not supplied: host (the Droplet to verify, a hostname or an IP address; or hosts, a list)']);
    expect(run.outputs).toEqual({});
  });

  it('refuses an app-dir or a project that could reach beyond them, naming the input', async () => {
    const badDir = await runVerify({ ...connection(), 'app-dir': '/opt/titan/../../etc' });
    expect(badDir.status).toBe(1);
    expect(errorLines(badDir)[0]).toMatch(/^::error::Configuration error: Input app-dir "\/opt\/titan\/\.\.\/\.\.\/etc" is not usable: it must not contain "\." or "\.\." segments/);
    const badProject = await runVerify({ ...connection(), project: 'titan; rm -rf /' });
    expect(errorLines(badProject)[0]).toMatch(/^::error::Configuration error: Input project "titan; rm -rf \/" is not a Compose project name/);
  });

  it('verifies the host\'s current release: outputs healthy=true and a report, writes the summary table', async () => {
    const run = await runVerify({ ...connection(), 'public-key': stack.host.releasePublicKey, timeout: '120' });
    expect(errorLines(run)).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.outputs['healthy']).toBe('true');
    const reportPath = run.outputs['report'] ?? '';
    expect(reportPath).toMatch(new RegExp(`/titan-verify-${PROJECT}-${stack.release.manifest.releaseId}\\.json$`));
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as VerifyReport;
    expect(report.healthy).toBe(true);
    expect(report.releaseId).toBe(stack.release.manifest.releaseId);
    expect(report.services).toHaveLength(17);
    expect(report.failures).toEqual([]);

    expect(run.summary).toContain(
      `Release checked: ${stack.release.manifest.releaseId}, the host's current release, verified on the host against ${stack.appDir}/trust and on the runner against public-key`,
    );
    expect(run.summary).toContain('### ✅ Verified: release');
    expect(run.summary).toContain('| service | running | healthy | digest | endpoint |');
    expect(run.summary).toMatch(/\| \*\*titan-execution\*\* \| ✅ running \| ✅ healthy \| ✅ sha256:[0-9a-f]{12} \| ✅ ok, DISARMED \|/);
    expect(run.summary).not.toContain('❌');
    // The private key never appears, in any line a person could read.
    const visible = `${run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n')}${run.stderr}${run.summary}${await readFile(reportPath, 'utf8')}`;
    for (const line of sshKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(visible.includes(line)).toBe(false);
  });

  it('verifies against a local bundle, checked on the runner with the public key', async () => {
    const run = await runVerify({ ...connection(), bundle: stack.release.dir, 'public-key': stack.host.releasePublicKey, timeout: '60' });
    expect(errorLines(run)).toEqual([]);
    expect(run.outputs['healthy']).toBe('true');
    expect(run.summary).toContain(`Release checked: ${stack.release.manifest.releaseId} from the bundle ${stack.release.dir}, verified on the runner against public-key`);
  });

  it('refuses a bundle that the public key did not sign, and says healthy=false', async () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const run = await runVerify({ ...connection(), bundle: stack.release.dir, 'public-key': other });
    expect(run.status).toBe(1);
    expect(errorLines(run)[0]).toContain('manifest.sig is not a valid signature of manifest.json by any of the 1 trusted key(s)');
    expect(run.outputs['healthy']).toBe('false');
    expect(run.summary).toContain('## ❌ Not verified');
  });

  it('fails the step when a service is down, naming it, with healthy=false, the report and the summary', async () => {
    await stack.docker(['stop', stack.containerName('titan-console')]);
    const run = await runVerify({ ...connection(), timeout: '3' });
    expect(run.status).toBe(1);
    expect(run.outputs['healthy']).toBe('false');
    expect(errorLines(run).at(-1)).toMatch(/^::error::The stack is not healthy: 1 failed check after \d+ poll\(s\) in \d+ s: titan-console running\./);
    const report = JSON.parse(await readFile(run.outputs['report'] ?? '', 'utf8')) as VerifyReport;
    expect(report.healthy).toBe(false);
    expect(report.failures.map((f) => [f.service, f.check])).toEqual([['titan-console', 'running']]);
    expect(run.summary).toContain('### ❌ Not healthy: release');
    expect(run.summary).toMatch(/\| \*\*titan-console\*\* \| ❌ exited \(\d+\) \| ❌ not running \|/);
    expect(run.summary).toContain('- ❌ **titan-console** · running: titanverify\\_titan-console\\_1 is exited');
  });
});
