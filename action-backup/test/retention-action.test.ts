/**
 * action-backup's retention against the S3 peer, after a real backup of the test host's stack:
 * complete backups beyond the counts removed (manifest first), the newest complete kept, incomplete
 * ones never counted (an old one removed, a young one left alone), and nothing outside the prefix
 * touched, a sibling prefix included.
 */
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupId } from '@titan/backup/backup-layout';
import type { ObjectStore } from '@titan/spaces/object-store';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { ensureStack, runBackup } from './support/backup-stack.js';
import { plantOutsiders, spacesInputs, storeOf } from './support/spaces-check.js';

const PREFIX = 'titan/retention-tests';
let peer: SpacesPeer;
let store: ObjectStore;

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  store = storeOf(peer);
}, 400_000);
afterAll(async () => peer.close());

const daysAgo = (days: number): Date => new Date(Date.now() - days * 86_400_000);

describe('action-backup retention', () => {
  it('keeps keep-daily days of complete backups and the newest, removes the rest and old incomplete ones, touches nothing outside the prefix', async () => {
    const outsiders = await plantOutsiders(store, PREFIX);
    const complete = [1, 2, 3, 4].map((d) => newBackupId(daysAgo(d)));
    for (const id of complete) {
      await store.putObject(`${PREFIX}/${id}/redis/dump.rdb.age`, Buffer.from(`rdb of ${id}`));
      await store.putObject(`${PREFIX}/${id}/manifest.json`, Buffer.from('{}'));
    }
    const oldIncomplete = newBackupId(daysAgo(10));
    const youngIncomplete = newBackupId(new Date(Date.now() - 3600_000));
    await store.putObject(`${PREFIX}/${oldIncomplete}/postgres/titan.dump.age`, Buffer.from('half'));
    await store.putObject(`${PREFIX}/${youngIncomplete}/postgres/titan.dump.age`, Buffer.from('in progress'));

    const run = await runBackup({
      ...spacesInputs(peer, PREFIX),
      'age-recipients': await age.identityToRecipient(await age.generateIdentity()),
      parts: 'redis',
      verify: 'off',
      'keep-daily': '2',
      'keep-weekly': '0',
      'keep-monthly': '0',
    });
    expect(run.status, run.log).toBe(0);
    const id = run.outputs['backup-id'] ?? '';
    const left = new Set((await store.list(`${PREFIX}/`)).map((e) => e.key.slice(PREFIX.length + 1).split('/')[0]));
    // Today's backup and yesterday's are the 2 days; the young incomplete one may still be being taken.
    expect([...left].sort()).toEqual([id, complete[0] ?? '', youngIncomplete, 'README.txt'].sort());
    expect((run.outputs['removed'] ?? '').split(',').sort()).toEqual([...complete.slice(1), oldIncomplete].sort());
    // A removed complete backup's manifest goes first, alone: a deletion cut short leaves an incomplete backup.
    const deletes = peer.requests.filter((r) => r.deleted !== undefined).map((r) => r.deleted ?? []);
    for (const removed of complete.slice(1)) {
      const mine = deletes.filter((keys) => keys.some((k) => k.includes(removed)));
      expect(mine[0]).toEqual([`${PREFIX}/${removed}/manifest.json`]);
      expect(mine[1]).toEqual([`${PREFIX}/${removed}/redis/dump.rdb.age`]);
    }
    expect(await outsiders.unchanged()).toBe(true);
    expect(run.summary).toContain('Retention under');
    expect(run.summary).toContain('removed');
  });
});
