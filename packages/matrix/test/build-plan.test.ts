import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { planBuilds, type BuildPlan } from '@titan/matrix/build-plan';
import { DirectoryDigestCache } from '@titan/matrix/directory-digest-cache';
import { readDigestsFolder } from '@titan/matrix/digests-folder';
import { recordDigests } from '@titan/matrix/record-digests';
import { readServicesFile, type ServicesFile } from '@titan/release/services-file';
import { copySampleRelease, SAMPLE_SERVICES_FILE } from './support/sample-release.js';

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const WORKSPACE = resolve(import.meta.dirname, '../../..');

async function plan(services: ServicesFile, overrides: Partial<Parameters<typeof planBuilds>[0]> = {}): Promise<BuildPlan> {
  return planBuilds({
    services,
    registry: services.registry ?? '',
    sha: SHA,
    ref: 'refs/heads/main',
    defaultBranch: 'main',
    workspace: WORKSPACE,
    logger: recordingLogger(),
    ...overrides,
  });
}

/** What build legs leave: one file per built service holding a digest (made up, well-formed). */
async function fakeBuildLegs(p: BuildPlan, dir: string): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const digests = new Map<string, string>();
  p.matrix.include.forEach((leg, i) => digests.set(leg.service, `sha256:${i.toString(16).padStart(2, '0').repeat(32)}`));
  for (const [service, digest] of digests) await writeFile(join(dir, service), `${digest}\n`);
  return digests;
}

describe('build matrix of the sample release', () => {
  it('has one leg per service on the default branch, tagged sha-<sha> and latest', async () => {
    const services = await readServicesFile(SAMPLE_SERVICES_FILE);
    const p = await plan(services);
    expect(p.hasBuilds).toBe(true);
    expect(p.matrix.include).toHaveLength(17);
    const legs = new Map(p.matrix.include.map((l) => [l.service, l]));
    expect([...legs.keys()]).toEqual(services.images.map((i) => i.service));
    expect(legs.has('titan-console-api')).toBe(true);
    expect(legs.has('titan-opsd')).toBe(true);
    expect(legs.get('titan-execution')).toEqual({
      service: 'titan-execution',
      image: '127.0.0.1:5000/titan/titan-execution-rs',
      context: 'examples/titan/images/titan-service',
      dockerfile: 'examples/titan/images/titan-service/Dockerfile',
      'build-args': 'SERVICE=titan-execution',
      tags: `127.0.0.1:5000/titan/titan-execution-rs:sha-${SHA}\n127.0.0.1:5000/titan/titan-execution-rs:latest`,
      'cache-key': `titan-image-titan-execution-${p.keys['titan-execution']}`,
    });
    expect(legs.get('postgres')?.['build-args']).toBe('');
    expect(Object.keys(p.keys)).toHaveLength(17);
    expect(p.reused).toEqual({});
    // Services sharing a context differ by their build args, so every key is different.
    expect(new Set(Object.values(p.keys)).size).toBe(17);
    // The matrix is what strategy.matrix takes, as JSON.
    expect(JSON.parse(JSON.stringify(p.matrix))).toEqual({ include: p.matrix.include });
  });

  it('tags only sha-<sha> on another branch, a pull request or a tag', async () => {
    const services = await readServicesFile(SAMPLE_SERVICES_FILE);
    for (const ref of ['refs/heads/feature/x', 'refs/pull/7/merge', 'refs/tags/v1.0.0', 'refs/heads/mainline']) {
      const p = await plan(services, { ref });
      for (const leg of p.matrix.include) expect(leg.tags).toBe(`${leg.image}:sha-${SHA}`);
    }
    const trunk = await plan(services, { ref: 'refs/heads/trunk', defaultBranch: 'trunk' });
    expect(trunk.tags).toEqual([`sha-${SHA}`, 'latest']);
  });

  it('puts images under the registry it is given', async () => {
    const services = await readServicesFile(SAMPLE_SERVICES_FILE);
    const p = await plan(services, { registry: 'registry.digitalocean.com/acme' });
    expect(p.matrix.include.map((l) => l.image)).toContain('registry.digitalocean.com/acme/titan-opsd');
    const local = await plan(services);
    expect(p.keys['titan-opsd']).not.toBe(local.keys['titan-opsd']);
  });

  it('refuses a sha that is not a full commit sha', async () => {
    const services = await readServicesFile(SAMPLE_SERVICES_FILE);
    await expect(plan(services, { sha: SHA.slice(0, 12) })).rejects.toThrow(
      `"${SHA.slice(0, 12)}" is not a full commit sha: give the 40-character hex sha of the commit being built`,
    );
  });
});

describe('reuse through the digest cache', () => {
  let release: Awaited<ReturnType<typeof copySampleRelease>>;
  let cacheDir: string;

  beforeEach(async () => {
    release = await copySampleRelease();
    cacheDir = await mkdtemp(join(tmpdir(), 'titan-digest-cache-'));
  });
  afterEach(async () => {
    await release.remove();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('after record, a second plan reuses every digest and builds nothing; one changed file rebuilds only its service', async () => {
    const cache = new DirectoryDigestCache(cacheDir);
    const services = await readServicesFile(release.servicesFile);
    const first = await plan(services, { cache, workspace: release.root });
    expect(first.matrix.include).toHaveLength(17);

    const digestsDir = join(release.root, 'digests');
    const built = await fakeBuildLegs(first, digestsDir);
    const digests = await readDigestsFolder(digestsDir, services.images.map((i) => i.service));
    const logger = recordingLogger();
    const recorded = await recordDigests({ services, registry: first.registry, digests, cache, expected: first.matrix, logger });
    expect(recorded).toHaveLength(17);
    expect(logger.text()).toContain(`titan-opsd: recorded 127.0.0.1:5000/titan/titan-opsd@${built.get('titan-opsd')}`);

    const second = await plan(await readServicesFile(release.servicesFile), { cache, workspace: release.root });
    expect(second.hasBuilds).toBe(false);
    expect(second.matrix).toEqual({ include: [] });
    expect(second.reused).toEqual(Object.fromEntries(built));
    expect(second.keys).toEqual(first.keys);

    // One byte in the postgres context (its own): only postgres is built again.
    await appendFile(join(release.dir, 'images/postgres/entrypoint.sh'), '#\n');
    const third = await plan(await readServicesFile(release.servicesFile), { cache, workspace: release.root });
    expect(third.matrix.include.map((l) => l.service)).toEqual(['postgres']);
    expect(third.matrix.include[0]?.context).toBe('examples/titan/images/postgres');
    expect(Object.keys(third.reused)).toHaveLength(16);
    expect(third.reused['postgres']).toBeUndefined();
    expect(third.keys['postgres']).not.toBe(first.keys['postgres']);
  });

  it('builds (and warns) when the cache holds something that is not a digest', async () => {
    const services = await readServicesFile(release.servicesFile);
    const first = await plan(services);
    const key = first.keys['redis'] ?? '';
    await mkdir(join(cacheDir, 'redis'), { recursive: true });
    await writeFile(join(cacheDir, 'redis', key), 'latest\n');
    const logger = recordingLogger();
    const p = await plan(services, { cache: new DirectoryDigestCache(cacheDir), logger });
    expect(p.matrix.include.map((l) => l.service)).toContain('redis');
    expect(logger.text()).toContain(`warning: redis: the digest cache holds "latest" for build key ${key.slice(0, 12)}, not a sha256 digest; building it`);
  });

  it('refuses to record digests that do not match the plan', async () => {
    const cache = new DirectoryDigestCache(cacheDir);
    const services = await readServicesFile(release.servicesFile);
    const first = await plan(services, { cache });
    const digestsDir = join(release.root, 'digests');
    const digests = await fakeBuildLegs(first, digestsDir);
    digests.delete('titan-brain');
    await appendFile(join(release.dir, 'images/nats/Dockerfile'), '# changed after the plan\n');
    const changed = await readServicesFile(release.servicesFile);
    const error = await recordDigests({ services: changed, registry: first.registry, digests, cache, expected: first.matrix, logger: recordingLogger() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).toContain('The digests do not match the plan:');
    expect(String(error)).toContain('titan-brain: a leg of the matrix left no digest file');
    expect(String(error)).toContain(`nats: the plan's cache key titan-image-nats-${first.keys['nats']} differs from this checkout's`);
    // Nothing was recorded.
    const again = await plan(services, { cache });
    expect(again.matrix.include).toHaveLength(17);
  });
});
