import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '@titan/log/logger';
import { ActionsDigestCache, type CacheService } from '../src/actions-digest-cache.js';

const KEY = 'a'.repeat(64);
const DIGEST = `sha256:${'b'.repeat(64)}`;
let workspace: string;

beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'titan-actions-cache-'));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

/**
 * The Actions cache service is not reachable from here: this stands in for @actions/cache with
 * its contract (entries keyed exactly, holding the files at the given workspace-relative paths).
 */
function cacheService(): CacheService & { entries: Map<string, { paths: string[]; files: Map<string, string> }> } {
  const entries = new Map<string, { paths: string[]; files: Map<string, string> }>();
  return {
    entries,
    async restoreCache(paths, key) {
      const entry = entries.get(key);
      if (entry === undefined || JSON.stringify(entry.paths) !== JSON.stringify(paths)) return undefined;
      for (const [path, text] of entry.files) {
        await mkdir(join(workspace, path, '..'), { recursive: true });
        await writeFile(join(workspace, path), text);
      }
      return key;
    },
    async saveCache(paths, key) {
      if (entries.has(key)) return -1;
      const files = new Map<string, string>();
      for (const path of paths) files.set(path, await readFile(join(workspace, path), 'utf8'));
      entries.set(key, { paths, files });
      return entries.size;
    },
  };
}

describe('Actions cache as a digest cache', () => {
  it('stores one small file under titan-image-<service>-<key> and finds it by that exact key', async () => {
    const service = cacheService();
    const cache = new ActionsDigestCache(recordingLogger(), service, workspace);
    expect(await cache.lookup('titan-opsd', KEY)).toBeUndefined();
    await cache.record('titan-opsd', KEY, DIGEST);
    expect([...service.entries.keys()]).toEqual([`titan-image-titan-opsd-${KEY}`]);
    expect([...(service.entries.get(`titan-image-titan-opsd-${KEY}`)?.files ?? [])]).toEqual([['.titan-digest-cache/titan-opsd/digest', `${DIGEST}\n`]]);
    expect(await cache.lookup('titan-opsd', KEY)).toBe(DIGEST);
    expect(await cache.lookup('titan-opsd', 'c'.repeat(64))).toBeUndefined();
    expect(await cache.lookup('titan-brain', KEY)).toBeUndefined();
    // The scratch files do not stay in the workspace.
    expect(existsSync(join(workspace, '.titan-digest-cache/titan-opsd'))).toBe(false);
  });

  it('ignores an answer for another key, and warns when an entry exists already', async () => {
    const logger = recordingLogger();
    const cache = new ActionsDigestCache(logger, { restoreCache: () => Promise.resolve(`titan-image-titan-opsd-${KEY}-old`), saveCache: () => Promise.resolve(-1) }, workspace);
    expect(await cache.lookup('titan-opsd', KEY)).toBeUndefined();
    await cache.record('titan-opsd', KEY, DIGEST);
    expect(logger.text()).toContain(`warning: titan-opsd: the cache answered titan-image-titan-opsd-${KEY}-old for titan-image-titan-opsd-${KEY}; not the same build, ignored`);
    expect(logger.text()).toContain(`warning: titan-opsd: titan-image-titan-opsd-${KEY} was not saved`);
  });
});
