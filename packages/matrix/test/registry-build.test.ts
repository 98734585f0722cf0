import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { planBuilds } from '@titan/matrix/build-plan';
import { DirectoryDigestCache } from '@titan/matrix/directory-digest-cache';
import { readDigestsFolder } from '@titan/matrix/digests-folder';
import { recordDigests } from '@titan/matrix/record-digests';
import { readServicesFile } from '@titan/release/services-file';
import { loadTestHost } from '@titan/test-host/test-host';
import { buildLegs } from './support/build.js';
import { copySampleRelease } from './support/sample-release.js';

const run = promisify(execFile);

/**
 * Real builds against the test host's Docker engine and registry: plan, build and push every leg,
 * record, plan again. Without a test host this fails (loadTestHost throws): it never skips.
 */
describe('matrix -> docker build and push -> record -> plan, against the test host registry', () => {
  let release: Awaited<ReturnType<typeof copySampleRelease>> | undefined;
  let cacheDir: string | undefined;

  afterEach(async () => {
    await release?.remove();
    if (cacheDir !== undefined) await rm(cacheDir, { recursive: true, force: true });
  });

  it('builds every image once, then reuses every digest; a reused digest pulls by repo@digest', { timeout: 900_000 }, async () => {
    // In the test itself, so that a missing host fails this test (a hook failure reads as a skip).
    const host = loadTestHost();
    release = await copySampleRelease();
    cacheDir = await mkdtemp(join(tmpdir(), 'titan-digest-cache-'));
    const sha = randomBytes(20).toString('hex');
    const cache = new DirectoryDigestCache(cacheDir);
    const logger = recordingLogger();
    const services = await readServicesFile(release.servicesFile);
    const options = { services, registry: host.imagePrefix, sha, ref: 'refs/heads/main', defaultBranch: 'main', cache, workspace: release.root, logger };

    const first = await planBuilds(options);
    expect(first.matrix.include).toHaveLength(17);

    const digestsDir = join(release.root, 'digests');
    const pushed = await buildLegs(first.matrix, { digestsDir, workspace: release.root, logger });
    expect(pushed.size).toBe(17);

    const digests = await readDigestsFolder(digestsDir, services.images.map((i) => i.service));
    expect(digests).toEqual(pushed);
    await recordDigests({ services, registry: host.imagePrefix, digests, cache, expected: first.matrix, logger });

    const second = await planBuilds(options);
    expect(second.hasBuilds).toBe(false);
    expect(second.matrix.include).toEqual([]);
    expect(second.reused).toEqual(Object.fromEntries(pushed));

    // Every reused digest is in the registry, under its repository, with that exact digest.
    for (const image of second.images) {
      const path = image.repository.slice(host.registry.length + 1);
      const response = await fetch(`http://${host.registry}/v2/${path}/manifests/${image.digest ?? ''}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
      });
      expect([image.service, response.status, response.headers.get('docker-content-digest')]).toEqual([image.service, 200, image.digest]);
    }
    // Both tags point at the digest.
    const opsd = second.images.find((i) => i.service === 'titan-opsd');
    for (const tag of [`sha-${sha}`, 'latest']) {
      const response = await fetch(`http://${host.registry}/v2/${opsd?.repository.slice(host.registry.length + 1) ?? ''}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      expect([tag, response.headers.get('docker-content-digest')]).toEqual([tag, opsd?.digest]);
    }
    const pulled = await run('docker', ['pull', `${opsd?.repository ?? ''}@${opsd?.digest ?? ''}`], { encoding: 'utf8' });
    expect(pulled.stdout).toContain(`Digest: ${opsd?.digest ?? ''}`);
  });
});
