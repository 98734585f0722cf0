import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { parseStrategyMatrix } from '@titan/matrix/strategy-matrix';
import { hostScript } from '@titan/host/host-script';
import { verifyBundle } from '@titan/release/bundle-verifier';
import { parsePublicKey } from '@titan/release/release-key';
import { runActionBundle } from '@titan/test-host/action-run';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import { buildLegs } from '../packages/matrix/test/support/build.js';

const run = promisify(execFile);

/**
 * The release path end to end, through the committed bundles as a runner runs them, against the
 * test host's Docker engine and registry: matrix from examples/titan/services.yml -> real docker
 * build and push of every image -> digests collected -> record -> a second plan that builds nothing
 * -> sign -> a bundle that the OpenSSL CLI and sha256sum verify, and that no longer verifies once any
 * single byte of any file, the signature, or a digest changes.
 */
describe('release path: matrix -> docker build and push -> sign -> OpenSSL verifies', () => {
  const scratch: string[] = [];
  afterAll(async () => {
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  it('signs a bundle of real pushed digests that only an untouched bundle passes', { timeout: 900_000 }, async () => {
    const host: TestHost = loadTestHost();
    const work = await mkdtemp(join(tmpdir(), 'titan-release-path-'));
    scratch.push(work);
    const source = join(work, 'source');
    await cp(host.example, source, { recursive: true });
    const cache = join(work, 'digest-cache');
    const sha = randomBytes(20).toString('hex');
    const matrixInputs = { 'services-file': 'services.yml', registry: host.imagePrefix, sha, ref: 'refs/heads/main', cache };

    // 1. The matrix: one leg per image, titan-console-api and titan-opsd included.
    const plan = await runActionBundle('action-deploy/matrix', { cwd: source, inputs: matrixInputs });
    expect(plan.status, plan.log).toBe(0);
    const matrix = parseStrategyMatrix(plan.outputs['matrix'] ?? '');
    const services = matrix.include.map((leg) => leg.service);
    expect(services).toHaveLength(17);
    expect(services).toEqual(expect.arrayContaining(['titan-console-api', 'titan-opsd', 'titan-brain', 'postgres', 'nats']));
    for (const leg of matrix.include) expect(leg.tags.split('\n')).toEqual([`${leg.image}:sha-${sha}`, `${leg.image}:latest`]);

    // 2. Build and push every leg for real; each leaves <digests>/<service> as build legs do.
    const digests = join(work, 'digests');
    const pushed = await buildLegs(matrix, { digestsDir: digests, workspace: source, logger: recordingLogger() });
    expect(pushed.size).toBe(17);

    // 3. Record, then plan again with nothing changed: every digest reused, nothing to build.
    const record = await runActionBundle('action-deploy/matrix', {
      cwd: source,
      inputs: { ...matrixInputs, mode: 'record', digests, matrix: plan.outputs['matrix'] ?? '' },
    });
    expect(record.status, record.log).toBe(0);
    const again = await runActionBundle('action-deploy/matrix', { cwd: source, inputs: matrixInputs });
    expect(again.status, again.log).toBe(0);
    expect(again.outputs['has-builds']).toBe('false');
    expect(parseStrategyMatrix(again.outputs['matrix'] ?? '').include).toEqual([]);
    expect(JSON.parse(again.outputs['reused'] ?? '{}')).toEqual(Object.fromEntries(pushed));

    // 4. Sign with the test host's release key.
    const signed = await runActionBundle('action-deploy/sign', {
      cwd: work,
      inputs: {
        source,
        digests,
        'signing-key': readReleaseKey(host),
        'public-key': host.releasePublicKey,
        'key-id': host.releaseKeyId,
        output: join(work, 'bundles'),
        'git-sha': sha,
        'git-ref': 'refs/heads/main',
        'run-url': 'https://github.com/titan/titan/actions/runs/1',
      },
    });
    expect(signed.status, signed.log).toBe(0);
    const bundle = signed.outputs['bundle'] ?? '';
    const manifest = JSON.parse(await readFile(join(bundle, 'manifest.json'), 'utf8')) as {
      releaseId: string;
      images: Record<string, { image: string; digest: string }>;
      files: { path: string; sha256: string; size: number }[];
    };
    expect(manifest.releaseId).toBe(signed.outputs['release-id']);
    expect(Object.fromEntries(Object.entries(manifest.images).map(([s, i]) => [s, i.digest]))).toEqual(Object.fromEntries(pushed));

    // 5. The OpenSSL CLI (not our code) verifies the signature; sha256sum verifies every file.
    const pem = join(work, 'release.pem');
    await publicKeyPem(host.releasePublicKey, pem);
    expect(await independentlyVerified(bundle, pem, manifest.files)).toBe(true);
    await verifyBundle(bundle, [parsePublicKey(host.releasePublicKey)]);

    // 6. One byte changed anywhere -- every bundle file, the signature, a digest -- fails verification.
    const files = [...manifest.files.map((f) => f.path), 'manifest.json', 'manifest.sig'];
    for (const path of files) {
      const copy = join(work, `tampered-${path.replace(/\//g, '_')}`);
      await cp(bundle, copy, { recursive: true });
      const bytes = await readFile(join(copy, path));
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      await writeFile(join(copy, path), bytes);
      expect(await independentlyVerified(copy, pem, manifest.files), path).toBe(false);
      expect(hostScriptVerifies(copy, host.appDir), path).toBe(false);
      await expect(verifyBundle(copy, [parsePublicKey(host.releasePublicKey)]), path).rejects.toThrow();
      await rm(copy, { recursive: true, force: true });
    }

    // A changed digest, in the override that compose reads or in the signed manifest itself.
    const [service, image] = Object.entries(manifest.images)[0] ?? ['', { image: '', digest: '' }];
    const otherDigest = `sha256:${randomBytes(32).toString('hex')}`;
    for (const file of ['docker-compose.digests.yml', 'manifest.json']) {
      const copy = join(work, `digest-${file}`);
      await cp(bundle, copy, { recursive: true });
      const text = await readFile(join(copy, file), 'utf8');
      expect(text, `${file} names ${service}'s digest`).toContain(image.digest);
      await writeFile(join(copy, file), text.replace(image.digest, otherDigest));
      expect(await independentlyVerified(copy, pem, manifest.files), file).toBe(false);
      expect(hostScriptVerifies(copy, host.appDir), file).toBe(false);
      await rm(copy, { recursive: true, force: true });
    }

    // And the untouched bundle still verifies on the host's own trust folder.
    expect(hostScriptVerifies(bundle, host.appDir)).toBe(true);
    expect((await readdir(bundle)).sort()).toEqual(
      [...new Set(manifest.files.map((f) => f.path.split('/')[0] ?? '')), 'manifest.json', 'manifest.sig'].sort(),
    );
  });
});

/** The raw Ed25519 public key as PEM, made by OpenSSL from DER (prefix 302a300506032b6570032100). */
async function publicKeyPem(base64: string, pem: string): Promise<void> {
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(base64, 'base64')]);
  await writeFile(`${pem}.der`, der);
  await run('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', `${pem}.der`, '-out', pem]);
}

/** Signature by `openssl pkeyutl -verify -rawin`, files by `sha256sum -c --strict`: no code of ours. */
async function independentlyVerified(bundle: string, pem: string, files: { path: string; sha256: string }[]): Promise<boolean> {
  const signature = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pem, '-rawin', '-in', 'manifest.json', '-sigfile', 'manifest.sig'], {
    cwd: bundle,
    encoding: 'utf8',
  });
  if (signature.status !== 0) return false;
  // The file list comes from the manifest that OpenSSL just verified.
  const signed = JSON.parse(await readFile(join(bundle, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string }[] };
  expect(signed.files).toEqual(files.map((f) => expect.objectContaining({ path: f.path, sha256: f.sha256 }) as unknown));
  const sums = signed.files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  const check = spawnSync('sha256sum', ['--quiet', '--strict', '-c', '-'], { cwd: bundle, input: sums, encoding: 'utf8' });
  return check.status === 0;
}

function hostScriptVerifies(bundle: string, appDir: string): boolean {
  const result = spawnSync('sh', ['-s', '--', bundle, join(appDir, 'trust')], { input: hostScript('titan-check-bundle'), encoding: 'utf8' });
  return result.status === 0;
}
