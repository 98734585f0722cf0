import { relative, sep } from 'node:path';
import type { Logger } from '@titan/log/logger';
import { digestCacheKey, type DigestCache } from './digest-cache.js';
import { isImageDigest } from './image-digest.js';
import { imageTags } from './image-tags.js';
import { computeServiceKeys } from './service-keys.js';
import type { ServicesFile } from '@titan/release/services-file';

/**
 * One leg of the build matrix: what `docker/build-push-action` needs to build and push one image.
 * Paths are relative to the workspace; `build-args` and `tags` are newline lists, as the action
 * takes them.
 */
export interface MatrixLeg {
  service: string;
  /** The full repository (`<registry>/<image>`). */
  image: string;
  context: string;
  dockerfile: string;
  /** `NAME=value` lines, sorted by name. */
  'build-args': string;
  /** Full image references, one a line: `<image>:sha-<sha>` and, on the default branch, `<image>:latest`. */
  tags: string;
  /** The digest cache key of this build: `titan-image-<service>-<build key>`. */
  'cache-key': string;
  /** Only when a platform was given. */
  platforms?: string;
}

/** The value of `strategy.matrix`. GitHub refuses an empty `include`: gate the job on `has-builds`. */
export interface StrategyMatrix {
  include: MatrixLeg[];
}

export interface PlannedImage {
  service: string;
  repository: string;
  key: string;
  outcome: 'build' | 'reuse';
  /** The reused digest (outcome `reuse`). */
  digest?: string;
  /** The full references it will be tagged with (outcome `build`). */
  tags: string[];
}

export interface BuildPlan {
  registry: string;
  /** The tag names every built image gets (`sha-<sha>`, maybe `latest`). */
  tags: string[];
  images: PlannedImage[];
  matrix: StrategyMatrix;
  /** service -> digest, for every reused image. */
  reused: Record<string, string>;
  /** service -> build key, for every image. */
  keys: Record<string, string>;
  hasBuilds: boolean;
}

export interface PlanOptions {
  services: ServicesFile;
  registry: string;
  sha: string;
  ref: string;
  defaultBranch: string;
  /** Where built digests are remembered; without one, every image is built. */
  cache?: DigestCache;
  /** Canonical platform list (see normalisePlatforms). */
  platform?: string;
  /** Legs' paths are relative to it (default: the current directory, the runner's workspace). */
  workspace?: string;
  logger: Logger;
}

export async function planBuilds(options: PlanOptions): Promise<BuildPlan> {
  const { logger, cache } = options;
  const tags = imageTags({ sha: options.sha, ref: options.ref, defaultBranch: options.defaultBranch });
  const workspace = options.workspace ?? process.cwd();
  const keys = await computeServiceKeys(options.services, {
    registry: options.registry,
    logger,
    ...(options.platform === undefined ? {} : { platform: options.platform }),
  });
  const plan: BuildPlan = { registry: options.registry, tags, images: [], matrix: { include: [] }, reused: {}, keys: {}, hasBuilds: false };
  // Lookups may be network round trips (the Actions cache): ask for every service at once.
  const found = await Promise.all(keys.map(({ spec, key }) => (cache === undefined ? Promise.resolve(undefined) : lookupDigest(cache, spec.service, key, logger))));
  for (const [index, { spec, repository, key }] of keys.entries()) {
    plan.keys[spec.service] = key;
    const digest = found[index];
    if (digest !== undefined) {
      logger.info(`${spec.service}: reuse ${repository}@${digest} (build key ${key.slice(0, 12)})`);
      plan.reused[spec.service] = digest;
      plan.images.push({ service: spec.service, repository, key, outcome: 'reuse', digest, tags: [] });
      continue;
    }
    const references = tags.map((tag) => `${repository}:${tag}`);
    logger.info(`${spec.service}: build ${references.join(', ')} (build key ${key.slice(0, 12)})`);
    plan.images.push({ service: spec.service, repository, key, outcome: 'build', tags: references });
    const leg: MatrixLeg = {
      service: spec.service,
      image: repository,
      context: workspacePath(workspace, spec.context),
      dockerfile: workspacePath(workspace, spec.dockerfile),
      'build-args': spec.buildArgs.map(([name, value]) => `${name}=${value}`).join('\n'),
      tags: references.join('\n'),
      'cache-key': digestCacheKey(spec.service, key),
    };
    if (options.platform !== undefined) leg.platforms = options.platform;
    plan.matrix.include.push(leg);
  }
  plan.hasBuilds = plan.matrix.include.length > 0;
  return plan;
}

/** A cache that fails or holds garbage never stops a plan: the image is built instead. */
async function lookupDigest(cache: DigestCache, service: string, key: string, logger: Logger): Promise<string | undefined> {
  let found: string | undefined;
  try {
    found = await cache.lookup(service, key);
  } catch (error: unknown) {
    logger.warning(`${service}: digest cache lookup failed (${error instanceof Error ? error.message : String(error)}); building it`);
    return undefined;
  }
  if (found !== undefined && !isImageDigest(found)) {
    logger.warning(`${service}: the digest cache holds "${found.slice(0, 80)}" for build key ${key.slice(0, 12)}, not a sha256 digest; building it`);
    return undefined;
  }
  return found;
}

function workspacePath(workspace: string, absolute: string): string {
  const path = relative(workspace, absolute).split(sep).join('/');
  return path === '' ? '.' : path;
}
