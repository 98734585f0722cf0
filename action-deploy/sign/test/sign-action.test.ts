import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostScript } from '@titan/host/host-script';
import { parseManifest } from '@titan/release/manifest';
import { REPOSITORY_ROOT, runActionBundle, type ActionRun } from '@titan/test-host/action-run';

const SOURCE = join(REPOSITORY_ROOT, 'examples/titan');
const SHA = 'fedcba9876543210fedcba9876543210fedcba98';

let dir: string;
let seed: Uint8Array;
let seedBase64: string;
let services: string[];
let digests: string;
let refusals = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'titan-sign-action-'));
  seed = nacl.randomBytes(32);
  seedBase64 = Buffer.from(seed).toString('base64');
  const spec = parse(await readFile(join(SOURCE, 'services.yml'), 'utf8')) as { images: { service: string }[] };
  services = spec.images.map((i) => i.service);
  digests = join(dir, 'digests');
  await mkdir(digests);
  for (const service of services) await writeFile(join(digests, service), `${digestOf(service)}\n`);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function digestOf(service: string): string {
  return `sha256:${createHash('sha256').update(service).digest('hex')}`;
}

/** Runs the committed bundle like a runner (runActionBundle). */
function runSign(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runActionBundle('action-deploy/sign', { inputs, env });
}

/** Every way the secret could be spelled. */
function secretForms(): string[] {
  const secretKey = Buffer.from(nacl.sign.keyPair.fromSeed(seed).secretKey);
  return [seedBase64, Buffer.from(seed).toString('hex'), secretKey.toString('base64'), secretKey.toString('hex')];
}

/** stdout without the runner's `::add-mask::` commands (the runner consumes them; they never reach the log). */
function visibleStdout(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

describe('sign, run as a runner runs it', () => {
  it('with no inputs, fails with a ConfigurationError naming signing-key', async () => {
    const run = await runSign({});
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::Configuration error: Input required and not supplied: signing-key');
  });

  it('signs examples/titan: outputs, a bundle the host script verifies, a summary, and no secret anywhere', async () => {
    const output = join(dir, 'bundles');
    const run = await runSign(
      { source: SOURCE, digests, 'signing-key': seedBase64, output },
      { GITHUB_SHA: SHA, GITHUB_REF: 'refs/heads/main', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'titan/titan', GITHUB_RUN_ID: '777' },
    );
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);

    const { bundle, 'release-id': releaseId, 'manifest-sha256': manifestSha256, 'public-key': publicKey } = run.outputs;
    expect(releaseId).toMatch(/^\d{8}T\d{6}Z-fedcba987654$/);
    expect(bundle).toBe(join(output, releaseId ?? ''));
    expect(await readdir(output)).toEqual([releaseId]);
    const manifestBytes = await readFile(join(bundle ?? '', 'manifest.json'));
    expect(manifestSha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
    expect(publicKey).toBe(Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).toString('base64'));
    const manifest = parseManifest(manifestBytes);
    expect(manifest.git).toEqual({ sha: SHA, ref: 'refs/heads/main' });
    expect(manifest.runUrl).toBe('https://github.com/titan/titan/actions/runs/777');
    expect(Object.keys(manifest.images)).toHaveLength(services.length);

    // The host's check, with the public key from the output as a trust/<key id>.pub file.
    const trust = join(dir, 'trust');
    await mkdir(trust, { recursive: true });
    await writeFile(join(trust, `${manifest.keyId}.pub`), `${publicKey}\n`);
    const host = spawnSync('sh', ['-s', '--', bundle ?? '', trust, releaseId ?? ''], { input: hostScript('titan-check-bundle'), encoding: 'utf8' });
    expect(host.stderr).toBe('');
    expect(host.stdout).toBe(`verified ${releaseId} ${join(trust, `${manifest.keyId}.pub`)}\n`);

    expect(run.summary).toContain(`## Release ${releaseId} signed`);
    expect(run.summary).toContain(`| **git sha** | ${SHA} |`);
    expect(run.summary).toContain(`| **key id** | ${manifest.keyId} |`);
    expect(run.summary).toContain(`| titan-opsd | 127.0.0.1:5000/titan/titan-opsd@${digestOf('titan-opsd')} |`);
    expect(run.summary).toContain(`| titan-console-api | 127.0.0.1:5000/titan/titan-console-api@${digestOf('titan-console-api')} |`);
    expect(run.summary).toMatch(new RegExp(`\\| \\*\\*files\\*\\* \\| ${manifest.files.length} files, [\\d.]+ KiB`));

    const masked = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
    for (const secret of secretForms()) {
      expect(masked, 'every spelling of the key is registered for masking').toContain(secret);
      for (const [where, text] of Object.entries({ stdout: visibleStdout(run.stdout), stderr: run.stderr, summary: run.summary, outputs: JSON.stringify(run.outputs) })) {
        expect(text.includes(secret), `secret found in ${where}`).toBe(false);
      }
    }
    for (const file of manifest.files) expect((await readFile(join(bundle ?? '', file.path), 'utf8')).includes(seedBase64)).toBe(false);
  });

  it('accepts the 64-byte tweetnacl secret key form, reused digests as JSON and an explicit services list', async () => {
    const output = join(dir, 'bundles-64');
    const secretKey = Buffer.from(nacl.sign.keyPair.fromSeed(seed).secretKey).toString('base64');
    const built = join(dir, 'digests-built');
    await mkdir(built);
    for (const service of services.filter((s) => s !== 'postgres')) await writeFile(join(built, service), digestOf(service));
    const run = await runSign({
      source: SOURCE,
      digests: built,
      reused: JSON.stringify({ postgres: digestOf('postgres') }),
      services: services.join(', '),
      'signing-key': secretKey,
      'public-key': Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).toString('base64'),
      'key-id': 'titan-release-2026',
      'git-sha': SHA,
      output,
    });
    expect(run.status, run.stdout).toBe(0);
    const manifest = parseManifest(await readFile(join(run.outputs['bundle'] ?? '', 'manifest.json')));
    expect(manifest.keyId).toBe('titan-release-2026');
    expect(manifest.images['postgres']?.digest).toBe(digestOf('postgres'));
    expect(manifest.git.ref).toBe('');
  });
});

describe('sign refuses, with a clear error and nothing written', () => {
  async function refused(inputs: Record<string, string>): Promise<string> {
    refusals += 1;
    const output = join(dir, `refused-${refusals}`, 'out');
    const run = await runSign({ source: SOURCE, digests, 'signing-key': seedBase64, 'git-sha': SHA, output, ...inputs });
    expect(run.status).toBe(1);
    expect(existsSync(output), 'output folder written').toBe(false);
    expect(run.outputs).toEqual({});
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::'));
    expect(error).toBeDefined();
    for (const secret of secretForms()) expect(`${visibleStdout(run.stdout)}${run.stderr}${run.summary}`.includes(secret)).toBe(false);
    return error ?? '';
  }

  it('a signing key that does not match the given public key', async () => {
    const other = Buffer.from(nacl.sign.keyPair().publicKey).toString('base64');
    const error = await refused({ 'public-key': other });
    expect(error).toMatch(/^::error::Configuration error: Input signing-key does not match public-key: its public key is \S+ \(ed25519-[0-9a-f]{16}\), the hosts trust /);
    expect(error).toContain(other);
  });

  it('a malformed signing key, without quoting it', async () => {
    const short = Buffer.from(nacl.randomBytes(16)).toString('base64');
    const error = await refused({ 'signing-key': short });
    expect(error).toBe('::error::Configuration error: Input signing-key: the signing key decodes to 16 bytes; expected base64 of a 32-byte Ed25519 seed or of a 64-byte tweetnacl secret key');
    expect(error).not.toContain(short);
    expect(await refused({ 'signing-key': 'not-base64-at-all!' })).toBe(
      '::error::Configuration error: Input signing-key: the signing key is not valid base64 (characters A-Z a-z 0-9 + / and = padding only)',
    );
  });

  it('a missing digest, an unexpected one and a malformed one', async () => {
    const partial = JSON.stringify(Object.fromEntries(services.filter((s) => s !== 'titan-console-api').map((s) => [s, digestOf(s)])));
    expect(await refused({ digests: partial })).toBe(
      '::error::Configuration error: missing digest for service: titan-console-api (no digest file or reused digest; did its build leg upload it?)',
    );
    expect(await refused({ services: services.filter((s) => s !== 'nats').join('\n') })).toMatch(
      /^::error::Configuration error: unexpected service: nats has a digest but is not among the expected services \(the services input\)/,
    );
    expect(await refused({ reused: '{"nats":"sha256:xyz"}' })).toBe(
      '::error::Configuration error: Input reused (service nats): malformed digest "sha256:xyz"; expected "sha256:" followed by 64 lower-case hex digits',
    );
  });

  it('a source that cannot be read, and a git sha that is not one', async () => {
    expect(await refused({ source: join(dir, 'no-such-source') })).toMatch(
      /^::error::Configuration error: release source \S+\/no-such-source: the release source folder cannot be read \(ENOENT\)$/,
    );
    expect(await refused({ 'git-sha': 'main' })).toBe('::error::Configuration error: Input git-sha must be a full lower-case hex commit sha (40 digits), got "main"');
  });
});
