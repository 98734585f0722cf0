import type { Logger } from '@titan/log/logger';
import type { StrategyMatrix } from './build-plan.js';
import { digestCacheKey, type DigestCache } from './digest-cache.js';
import { MatrixInputError } from './matrix-input-error.js';
import { computeServiceKeys } from './service-keys.js';
import type { ServicesFile } from '@titan/release/services-file';

export interface RecordedDigest {
  service: string;
  repository: string;
  key: string;
  digest: string;
}

export interface RecordOptions {
  services: ServicesFile;
  registry: string;
  platform?: string;
  /** service -> digest, as readDigestsFolder returns them. */
  digests: ReadonlyMap<string, string>;
  cache: DigestCache;
  /**
   * The plan's matrix, when the caller has it: then every leg must have a digest, no digest may
   * come from outside the legs, and each leg's cache key must match this checkout's build key (a
   * record step on another commit would otherwise file digests under the wrong keys).
   */
  expected?: StrategyMatrix;
  logger: Logger;
}

/** Files each built image's digest under its build key, so the next plan reuses it. */
export async function recordDigests(options: RecordOptions): Promise<RecordedDigest[]> {
  const { logger } = options;
  const keys = await computeServiceKeys(options.services, {
    registry: options.registry,
    logger,
    ...(options.platform === undefined ? {} : { platform: options.platform }),
  });
  if (options.expected !== undefined) checkAgainstPlan(options.expected, options.digests, keys.map((k) => [k.spec.service, k.key] as const));
  const recorded: RecordedDigest[] = [];
  for (const { spec, repository, key } of keys) {
    const digest = options.digests.get(spec.service);
    if (digest === undefined) continue;
    await options.cache.record(spec.service, key, digest);
    logger.info(`${spec.service}: recorded ${repository}@${digest} under build key ${key.slice(0, 12)} (${options.cache.description})`);
    recorded.push({ service: spec.service, repository, key, digest });
  }
  return recorded;
}

function checkAgainstPlan(matrix: StrategyMatrix, digests: ReadonlyMap<string, string>, keys: readonly (readonly [string, string])[]): void {
  const keyOf = new Map(keys);
  const problems: string[] = [];
  const legs = new Set<string>();
  for (const leg of matrix.include) {
    legs.add(leg.service);
    const key = keyOf.get(leg.service);
    if (key === undefined) {
      problems.push(`${leg.service}: a leg of the matrix, but not a service in services.yml`);
      continue;
    }
    if (!digests.has(leg.service)) problems.push(`${leg.service}: a leg of the matrix left no digest file (did its build fail or its artifact upload?)`);
    if (leg['cache-key'] !== digestCacheKey(leg.service, key)) {
      problems.push(`${leg.service}: the plan's cache key ${leg['cache-key']} differs from this checkout's (${digestCacheKey(leg.service, key)}): record from the same commit the plan ran on`);
    }
  }
  for (const service of digests.keys()) {
    if (!legs.has(service)) problems.push(`${service}: a digest file, but not a leg of the matrix (it was reused, not built)`);
  }
  if (problems.length > 0) throw new MatrixInputError('digests', 'The digests do not match the plan:', problems);
}
