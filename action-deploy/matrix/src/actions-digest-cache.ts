import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as cache from '@actions/cache';
import type { Logger } from '@titan/log/logger';
import { digestCacheKey, type DigestCache } from '@titan/matrix/digest-cache';

/** The two calls of @actions/cache this cache makes (a test hands in its own). */
export interface CacheService {
  restoreCache(paths: string[], primaryKey: string): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

/** Scratch folder (relative to the workspace) the cached digest files pass through. */
export const SCRATCH_DIR = '.titan-digest-cache';

/**
 * The GitHub Actions cache as a DigestCache: one entry per service and build key, key
 * `titan-image-<service>-<build key>`, holding one small file with the digest. Restored with the
 * exact key only (no restore-keys: a near match is a different build). The file path is relative to
 * the workspace and the same on save and restore, since the cache's version covers the paths.
 */
export class ActionsDigestCache implements DigestCache {
  readonly description = 'GitHub Actions cache';

  constructor(
    private readonly logger: Logger,
    private readonly service: CacheService = cache,
    private readonly workspace: string = process.cwd(),
  ) {}

  async lookup(service: string, key: string): Promise<string | undefined> {
    const cacheKey = digestCacheKey(service, key);
    const path = this.entryPath(service);
    await rm(join(this.workspace, path), { force: true });
    try {
      const hit = await this.service.restoreCache([path], cacheKey);
      if (hit !== cacheKey) {
        if (hit !== undefined) this.logger.warning(`${service}: the cache answered ${hit} for ${cacheKey}; not the same build, ignored`);
        return undefined;
      }
      return (await readFile(join(this.workspace, path), 'utf8')).trim();
    } finally {
      await rm(join(this.workspace, SCRATCH_DIR, service), { recursive: true, force: true });
    }
  }

  async record(service: string, key: string, digest: string): Promise<void> {
    const cacheKey = digestCacheKey(service, key);
    const path = this.entryPath(service);
    await mkdir(join(this.workspace, SCRATCH_DIR, service), { recursive: true });
    await writeFile(join(this.workspace, path), `${digest}\n`);
    try {
      const id = await this.service.saveCache([path], cacheKey);
      if (id === -1) this.logger.warning(`${service}: ${cacheKey} was not saved (it may exist already; see the cache messages above)`);
    } finally {
      await rm(join(this.workspace, SCRATCH_DIR, service), { recursive: true, force: true });
    }
  }

  private entryPath(service: string): string {
    return `${SCRATCH_DIR}/${service}/digest`;
  }
}
