import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostScript } from '@titan/host/host-script';
import { parseManifest } from '@titan/release/manifest';
import { runActionBundle } from '@titan/test-host/action-run';
import { loadTestHost, type TestHost } from '@titan/test-host/test-host';

let host: TestHost;
let dir: string;

beforeAll(async () => {
  host = loadTestHost();
  dir = await mkdtemp(join(tmpdir(), 'titan-sign-host-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('sign with the test host: its release key, the digests its registry holds, its trust folder', () => {
  it('signs a bundle that the host trust folder (as provisioned) accepts, pinning the pushed digests', async () => {
    const digests = join(dir, 'digests');
    await mkdir(digests);
    for (const [service, ref] of Object.entries(host.images)) await writeFile(join(digests, service), `${ref.slice(ref.indexOf('@') + 1)}\n`);
    const signingKey = (await readFile(host.releaseKeyPath, 'utf8')).trim();
    const run = await runActionBundle('action-deploy/sign', {
      inputs: {
        source: host.example,
        digests,
        registry: host.imagePrefix,
        'signing-key': signingKey,
        'public-key': host.releasePublicKey,
        'key-id': host.releaseKeyId,
        output: join(dir, 'bundles'),
        'git-sha': 'abcdefabcdefabcdefabcdefabcdefabcdefabcd',
      },
    });
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);
    const visible = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(visible.includes(signingKey)).toBe(false);

    const bundle = run.outputs['bundle'] ?? '';
    expect(run.outputs['public-key']).toBe(host.releasePublicKey);
    const manifest = parseManifest(await readFile(join(bundle, 'manifest.json')));
    expect(manifest.keyId).toBe(host.releaseKeyId);
    const pinned = Object.fromEntries(Object.entries(manifest.images).map(([service, image]) => [service, `${image.image}@${image.digest}`]));
    expect(pinned).toEqual(host.images);

    const trust = join(host.appDir, 'trust');
    const verified = spawnSync('sh', ['-s', '--', bundle, trust, manifest.releaseId], { input: hostScript('titan-check-bundle'), encoding: 'utf8' });
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toBe(`verified ${manifest.releaseId} ${host.releasePublicKeyPem}\n`);
  });
});
