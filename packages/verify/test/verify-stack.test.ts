/**
 * verifyStack against a real stack on the test host (sshd, Docker engine, registry): a release of
 * examples/titan signed here, brought up with docker compose, then broken in the ways a bad deploy
 * breaks it. Fails (never skips) without the test host: start it with scripts/test-host/up.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import type { ReleaseManifest } from '@titan/release/manifest';
import { publicKeyToBase64, parsePublicKey } from '@titan/release/release-key';
import type { SshConnection } from '@titan/ssh/connection';
import { HostReleaseError, readHostRelease } from '@titan/verify/host-release';
import { checkSecretFiles } from '@titan/verify/secret-exposure';
import { renderVerifySummary, verifyStack, type VerifyReport } from '@titan/verify/verify-stack';
import { createVerifyStack, PORT_OFFSET, PROJECT, type VerifyStackFixture, writeOverride } from './verify-stack-fixture.js';

const run = promisify(execFile);

let stack: VerifyStackFixture;
let connection: SshConnection;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'titan-verify-test-'));
  stack = await createVerifyStack();
  connection = await stack.connect();
});

afterAll(async () => {
  await connection?.close();
  await stack?.destroy();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function verify(manifest: ReleaseManifest, timeoutMs: number, project = PROJECT): Promise<VerifyReport> {
  return verifyStack(connection, { appDir: stack.appDir, project, manifest, timeoutMs, pollMs: 1000, logger: recordingLogger() });
}

/** The full ids of the project's containers, sorted. */
function containerIdsOf(project: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

function failureKeys(report: VerifyReport): string[] {
  return [...new Set(report.failures.map((f) => `${f.service} ${f.check}`))].sort();
}

function service(report: VerifyReport, name: string) {
  const found = report.services.find((s) => s.service === name);
  if (found === undefined) throw new Error(`no row for ${name} in the report`);
  return found;
}

describe('a healthy stack', () => {
  let report: VerifyReport;

  beforeAll(async () => {
    report = await verify(stack.release.manifest, 120_000);
  });

  it('verifies: every service running, healthy, on its signed digest, every endpoint ok, policy hashes equal', () => {
    expect(report.failures).toEqual([]);
    expect(report.healthy).toBe(true);
    expect(report.services.map((s) => s.service)).toEqual(Object.keys(stack.release.manifest.images).sort());
    expect(report.services).toHaveLength(17);
    for (const s of report.services) {
      expect([s.service, s.running.outcome, s.digest.outcome]).toEqual([s.service, 'pass', 'pass']);
      expect([s.service, s.healthy.outcome]).toEqual([s.service, 'pass']);
      expect(s.endpoint.outcome, `${s.service}: ${s.endpoint.detail}`).not.toBe('fail');
    }
    // Every Titan service and nats answered through the SSH connection; the rest have no endpoint.
    const withEndpoint = report.services.filter((s) => s.endpoint.outcome === 'pass').map((s) => s.service);
    expect(withEndpoint).toEqual([
      'nats',
      'titan-ai-quant',
      'titan-brain',
      'titan-console',
      'titan-console-api',
      'titan-execution',
      'titan-hunter',
      'titan-opsd',
      'titan-powerlaw-lab',
      'titan-scavenger',
      'titan-sentinel',
    ]);
    expect(service(report, 'postgres').endpoint).toEqual({ outcome: 'none', detail: 'no endpoint (Docker healthcheck only)' });
  });

  it('reaches each endpoint at the port Docker publishes on the host loopback, not an assumed one', () => {
    expect(service(report, 'titan-brain').endpointResult).toMatchObject({
      url: `127.0.0.1:${3100 + PORT_OFFSET}/health`,
      statusCode: 200,
      status: 'ok',
      mode: 'DISARMED',
      policyHash: stack.release.manifest.policy.sha256,
    });
    expect(service(report, 'nats').endpointResult?.url).toBe(`127.0.0.1:${8222 + PORT_OFFSET}/healthz`);
  });

  it('shows policy parity: manifest, file on the host, titan-brain and titan-execution', () => {
    const bySource = new Map(report.policy.sources.map((s) => [s.source, s]));
    for (const source of ['manifest', 'host file', 'titan-brain', 'titan-execution']) {
      expect(bySource.get(source), source).toMatchObject({ sha256: stack.release.manifest.policy.sha256, agrees: true });
    }
    expect(report.policy.agree).toBe(true);
    expect(report.currentTarget).toBe(`releases/${stack.release.manifest.releaseId}`);
  });

  it('renders a summary table of services x checks with no ❌', () => {
    const summary = renderVerifySummary(report);
    expect(summary).toContain(`### ✅ Verified: release \`${stack.release.manifest.releaseId}\` runs as signed, 17 services healthy`);
    expect(summary).toContain('| service | running | healthy | digest | endpoint |');
    const brainDigest = stack.release.manifest.images['titan-brain']?.digest.slice(0, 19) ?? 'missing';
    expect(summary).toContain(`| **titan-brain** | ✅ running | ✅ healthy | ✅ ${brainDigest} | ✅ ok, DISARMED |`);
    expect(summary).toContain('| **postgres** | ✅ running | ✅ healthy |');
    expect(summary).toContain('– no endpoint (Docker healthcheck only)');
    expect(summary).not.toContain('❌');
  });

  it('costs one remote command per poll, and three alongside the first: the release\'s secret files read, checked and searched for', async () => {
    const sshLog = recordingLogger();
    const own = await stack.connect(sshLog);
    try {
      const again = await verifyStack(own, { appDir: stack.appDir, project: PROJECT, manifest: stack.release.manifest, timeoutMs: 30_000, logger: recordingLogger() });
      expect(again.healthy).toBe(true);
      expect(again.polls).toBe(1);
    } finally {
      await own.close();
    }
    const commands = sshLog.lines.filter((l) => l.level === 'debug' && l.message.startsWith('$ ')).map((l) => l.message);
    // The probe and the secret check run at the same time, on channels of their own: in any order.
    expect(commands).toHaveLength(4);
    expect(commands).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$ sh -c <titan-verify-probe> titanverify /),
        // Host scripts run with the host layout in their environment (@titan/host/host-script).
        expect.stringMatching(/^\$ env ('(TITAN|EXIT)_[A-Z_]+=[^']*' )+sh -c <titan-read-release-files> /),
        expect.stringMatching(/^\$ env ('(TITAN|EXIT)_[A-Z_]+=[^']*' )+sh -c <titan-secret-files> /),
        expect.stringMatching(/^\$ env ('(TITAN|EXIT)_[A-Z_]+=[^']*' )+sh -c <titan-secret-exposure> /),
      ]),
    );
  });

  it('makes the compose model again only when its inputs changed: a second verify of the same stack does not start Compose for it', async () => {
    const state = join(stack.appDir, 'state', 'compose-model-searched');
    const first = await checkSecretFiles(connection, { appDir: stack.appDir, project: PROJECT, manifest: stack.release.manifest, timeoutMs: 30_000 });
    expect(first.failures).toEqual([]);
    expect(readFileSync(state, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const again = await checkSecretFiles(connection, { appDir: stack.appDir, project: PROJECT, manifest: stack.release.manifest, timeoutMs: 30_000 });
    expect(again).toMatchObject({ failures: [], composeModelSearched: false });
    expect(again.searched).toEqual(containerIdsOf(PROJECT));
    // The production values change: the model is made and searched again.
    const envFile = join(stack.appDir, 'shared', '.env.prod');
    const values = readFileSync(envFile, 'utf8');
    try {
      writeFileSync(envFile, `${values}\n# edited\n`);
      const changed = await checkSecretFiles(connection, { appDir: stack.appDir, project: PROJECT, manifest: stack.release.manifest, timeoutMs: 30_000 });
      expect(changed).toMatchObject({ failures: [], composeModelSearched: true });
    } finally {
      writeFileSync(envFile, values);
    }
  });
});

describe('the release the host runs', () => {
  it('is read from current/ and verified on the host against trust/ and on the runner against the public key', async () => {
    const release = await readHostRelease(connection, { appDir: stack.appDir, publicKeys: [parsePublicKey(stack.host.releasePublicKey)] });
    expect(release.manifest).toEqual(stack.release.manifest);
    expect(release.hostVerdict).toMatch(new RegExp(`^verified ${stack.release.manifest.releaseId} .*${stack.host.releaseKeyId}\\.pem$`));
    expect(release.runnerKeyIndex).toBe(0);
  });

  it('is refused when the runner was given another public key', async () => {
    const other = publicKeyToBase64(new Uint8Array(32).fill(7));
    await expect(readHostRelease(connection, { appDir: stack.appDir, publicKeys: [parsePublicKey(other)] })).rejects.toThrow(
      /not a signature of its manifest\.json by the given public key/,
    );
  });

  it('is refused when a file of the release was changed on the host', async () => {
    const migration = stack.release.manifest.files.find((f) => f.path.startsWith('migrations/'));
    if (migration === undefined) throw new Error('the release ships no migration');
    const file = join(stack.appDir, 'current', migration.path);
    const original = await readFile(file);
    await appendFile(file, '-- changed on the host\n');
    try {
      const error = await readHostRelease(connection, { appDir: stack.appDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostReleaseError);
      expect(String(error)).toContain(`${migration.path} is`);
      expect(String(error)).toContain('does not verify on the host');
    } finally {
      await writeFile(file, original);
    }
  });

  it('is refused when there is no current release', async () => {
    await expect(readHostRelease(connection, { appDir: join(stack.appDir, 'releases') })).rejects.toThrow(/no release is current there/);
  });
});

describe('policy hash parity', () => {
  it('fails by name when the manifest signed another policy than the one the stack runs', async () => {
    const other = await stack.signVariant(async (source) => {
      const file = join(source, 'config', 'policy.json');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"maxDailyLossUsd": 750', '"maxDailyLossUsd": 7500'));
    });
    expect(other.manifest.policy.sha256).not.toBe(stack.release.manifest.policy.sha256);
    const report = await verify(other.manifest, 3000);
    expect(report.healthy).toBe(false);
    const keys = failureKeys(report);
    expect(keys).toEqual(expect.arrayContaining(['host policy', 'titan-brain policy', 'titan-execution policy']));
    expect(keys.every((k) => k.endsWith(' policy'))).toBe(true);
    expect(report.services.every((s) => s.digest.outcome === 'pass')).toBe(true);
    const brain = report.failures.find((f) => f.service === 'titan-brain' && f.check === 'policy');
    expect(brain?.detail).toContain(`reports policyHash ${stack.release.manifest.policy.sha256}; the manifest signed ${other.manifest.policy.sha256}`);
  });

  it('fails by name when the policy file was edited on the host after the start', async () => {
    const file = join(stack.appDir, 'current', stack.release.manifest.policy.path);
    const original = await readFile(file);
    await appendFile(file, '\n');
    try {
      const report = await verify(stack.release.manifest, 3000);
      expect(failureKeys(report)).toEqual(['host policy']);
      const failure = report.failures[0];
      expect(failure?.detail).toContain(`${file} has sha256 `);
      expect(failure?.detail).toContain('the file on the host is not the signed policy');
      expect(report.policy.sources.find((s) => s.source === 'titan-brain')?.agrees).toBe(true);
      expect(renderVerifySummary(report)).toContain('❌ they do not agree');
    } finally {
      await writeFile(file, original);
    }
  });
});

describe('a project with no containers', () => {
  it('reports every service missing', async () => {
    const report = await verify(stack.release.manifest, 1000, 'titanverifynothing');
    expect(report.healthy).toBe(false);
    expect(report.services.every((s) => s.running.detail === 'missing')).toBe(true);
    expect(failureKeys(report)).toContain('titan-brain running');
  });
});

describe('a stack that a bad deploy left behind', () => {
  let report: VerifyReport;
  let variantDigest: string;

  beforeAll(async () => {
    const prefix = stack.host.imagePrefix;
    // Another build of titan-execution, pushed: a real digest the manifest did not sign.
    const variantTag = `${prefix}/titan-execution-rs:verify-variant`;
    await run(
      'docker',
      ['build', '-q', '-t', variantTag, '--build-arg', 'SERVICE=titan-execution', '--label', `titan.verify.variant=${Date.now()}`, join(stack.host.example, 'images', 'titan-service')],
      { env: { ...process.env, DOCKER_BUILDKIT: '0' } },
    );
    await run('docker', ['push', variantTag]);
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{range .RepoDigests}}{{println .}}{{end}}', variantTag]);
    const ref = stdout.split('\n').find((l) => l.startsWith(`${prefix}/titan-execution-rs@`));
    if (ref === undefined) throw new Error(`no repo digest for ${variantTag}: ${stdout}`);
    variantDigest = ref.slice(ref.indexOf('@') + 1);

    const override = await writeOverride(
      scratch,
      'bad-deploy.yml',
      [
        'services:',
        '  titan-brain:',
        `    image: ${prefix}/titan-brain:latest`,
        '  titan-execution:',
        `    image: ${prefix}/titan-execution-rs@${variantDigest}`,
        '  titan-sentinel:',
        '    environment:',
        '      TITAN_FAIL_HEALTH: "1"',
        '    healthcheck:',
        '      test: ["CMD", "true"]',
        '',
      ].join('\n'),
    );
    await stack.compose(['up', '-d', '--no-deps', 'titan-brain', 'titan-execution', 'titan-sentinel'], [override]);
    await stack.docker(['stop', stack.containerName('titan-hunter')]);
    await stack.docker([
      'run', '-d', '--name', `${PROJECT}_intruder_1`,
      '--label', `com.docker.compose.project=${PROJECT}`, '--label', 'com.docker.compose.service=intruder',
      'titan-base/busybox:local', 'sleep', '600',
    ]);
    await stack.docker([
      'run', '-d', '--name', `${PROJECT}_titan-opsd_run_1`,
      '--label', `com.docker.compose.project=${PROJECT}`, '--label', 'com.docker.compose.service=titan-opsd',
      '--label', 'com.docker.compose.oneoff=True',
      'titan-base/busybox:local', 'sleep', '600',
    ]);
    report = await verify(stack.release.manifest, 20_000);
  });

  it('fails, naming each service and check, and nothing else', () => {
    expect(report.healthy).toBe(false);
    expect(failureKeys(report)).toEqual([
      'intruder extra',
      'titan-brain digest',
      'titan-execution digest',
      'titan-hunter running',
      'titan-opsd extra',
      'titan-sentinel endpoint',
    ]);
  });

  it('catches a container created from a tag instead of the signed digest', () => {
    expect(service(report, 'titan-brain').digest).toEqual({ outcome: 'fail', detail: 'runs …/titan-brain:latest' });
    const failure = report.failures.find((f) => f.service === 'titan-brain' && f.check === 'digest');
    expect(failure?.detail).toContain(`${PROJECT}_titan-brain_1 was created from ${stack.host.imagePrefix}/titan-brain:latest (a tag, not a digest)`);
    expect(failure?.detail).toContain(`the manifest signed ${service(report, 'titan-brain').expectedImage}`);
  });

  it('catches a container running another digest of the same repository', () => {
    expect(service(report, 'titan-execution').digest).toEqual({ outcome: 'fail', detail: `other digest ${variantDigest.slice(0, 19)}` });
    expect(service(report, 'titan-execution').running.outcome).toBe('pass');
  });

  it('catches a stopped service once, at its cause', () => {
    const hunter = service(report, 'titan-hunter');
    expect(hunter.running.outcome).toBe('fail');
    expect(hunter.running.detail).toMatch(/^exited \(\d+\)$/);
    expect(hunter.endpoint).toEqual({ outcome: 'fail', detail: 'not running' });
    expect(report.failures.filter((f) => f.service === 'titan-hunter').map((f) => f.check)).toEqual(['running']);
  });

  it('catches an endpoint that says status error while Docker calls the container healthy, with the body', () => {
    const sentinel = service(report, 'titan-sentinel');
    expect(sentinel.healthy.outcome).toBe('pass');
    expect(sentinel.endpoint).toEqual({ outcome: 'fail', detail: 'status "error"' });
    const failure = report.failures.find((f) => f.service === 'titan-sentinel');
    expect(failure?.detail).toContain(`GET 127.0.0.1:${8084 + PORT_OFFSET}/health through the SSH connection: the health document says status "error"`);
    expect(failure?.lastHealth).toContain('"status":"error","service":"titan-sentinel"');
  });

  it('catches containers of the project the manifest does not list, and one-off run containers', () => {
    expect(report.extraContainers.map((c) => [c.name, c.service, c.oneOff])).toEqual([
      [`${PROJECT}_intruder_1`, 'intruder', false],
      [`${PROJECT}_titan-opsd_run_1`, 'titan-opsd', true],
    ]);
    expect(service(report, 'titan-opsd').running.outcome).toBe('pass');
  });

  it('renders the failures in the summary with the last health output', () => {
    const summary = renderVerifySummary(report);
    expect(summary).toContain('### ❌ Not healthy: release');
    expect(summary).toMatch(/\| \*\*titan-hunter\*\* \| ❌ exited \(\d+\) \| ❌ not running \|/);
    expect(summary).toContain('- ❌ **titan-sentinel** · endpoint: GET 127.0.0.1:');
    expect(summary).toContain('<details><summary>titan-sentinel · endpoint: last health output</summary>');
    expect(summary).toContain(`❌ ${PROJECT}\\_intruder\\_1`);
  });
});
