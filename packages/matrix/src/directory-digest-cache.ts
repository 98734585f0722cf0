import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_KEY } from './build-key.js';
import type { DigestCache } from './digest-cache.js';
import { SERVICE_NAME_PATTERN } from '@titan/release/image-reference';
import { isImageDigest } from './image-digest.js';

/**
 * A digest cache in a folder: `<dir>/<service>/<build key>` holds `sha256:<hex>` and a newline.
 * Used where the Actions cache service is not reachable (a terminal, self-hosted CI, tests).
 * Writes are atomic (a temporary file renamed into place).
 */
export class DirectoryDigestCache implements DigestCache {
  readonly description: string;

  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    this.description = `directory ${dir}`;
  }

  async lookup(service: string, key: string): Promise<string | undefined> {
    try {
      return (await readFile(this.entryPath(service, key), 'utf8')).trim();
    } catch (error: unknown) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async record(service: string, key: string, digest: string): Promise<void> {
    if (!isImageDigest(digest)) throw new Error(`Refusing to record "${digest}" for ${service}: not a sha256 image digest`);
    const path = this.entryPath(service, key);
    await mkdir(join(this.dir, service), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${digest}\n`);
    await rename(temporary, path);
  }

  private entryPath(service: string, key: string): string {
    if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`"${service}" is not a service name (${SERVICE_NAME_PATTERN.source})`);
    if (!BUILD_KEY.test(key)) throw new Error(`"${key}" is not a build key (64 hex characters)`);
    return join(this.dir, service, key);
  }
}
