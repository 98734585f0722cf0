/**
 * action-backup with the JetStream volume snapshot, against the test host's stack, the S3 peer and
 * the DigitalOcean API double (every request and answer validated against DigitalOcean's spec): the
 * snapshot is taken, tagged, recorded in the manifest and pruned beyond the count; a token the API
 * refuses fails the backup with nothing counted complete and nothing left in the bucket.
 */
import { randomBytes } from 'node:crypto';
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigitalOceanClient, expectData } from '@titan/digitalocean/client';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { silentLogger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { ensureStack, runBackup } from './support/backup-stack.js';
import { readManifest, spacesInputs, storeOf } from './support/spaces-check.js';

const PREFIX = 'titan/volume-tests';
const token = randomBytes(32).toString('hex');
let peer: SpacesPeer;
let store: ObjectStore;
let double: DigitalOceanApiDouble;
let recipient: string;
let volumeId: string;

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...spacesInputs(peer, PREFIX),
    'age-recipients': recipient,
    parts: 'redis',
    verify: 'off',
    retention: 'false',
    'jetstream-volume': 'titan-jetstream',
    'jetstream-volume-region': 'fra1',
    'volume-snapshot-keep': '2',
    'digitalocean-token': token,
    'digitalocean-api-url': double.url,
    ...extra,
  };
}

beforeAll(async () => {
  await ensureStack();
  peer = await startSpacesPeer();
  store = storeOf(peer);
  double = await DigitalOceanApiDouble.start({ token });
  recipient = await age.identityToRecipient(await age.generateIdentity());
  const client = createDigitalOceanClient({ token, logger: silentLogger, baseUrl: double.url });
  const { volume } = expectData('POST /v2/volumes', await client.api.POST('/v2/volumes', { body: { name: 'titan-jetstream', size_gigabytes: 10, region: 'fra1', filesystem_type: 'ext4' } }));
  volumeId = String(volume?.id);
  const { snapshot } = expectData('POST', await client.api.POST('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: volumeId } }, body: { name: 'operator-manual', tags: ['manual'] } }));
  expect(snapshot?.name).toBe('operator-manual');
}, 400_000);
afterAll(async () => {
  double.assertValid();
  await double.close();
  await peer.close();
});

describe('action-backup: the JetStream volume snapshot', () => {
  it('takes a tagged snapshot of the volume, records it in the manifest, and keeps volume-snapshot-keep of its own', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await runBackup(inputs());
      expect(run.status, run.log).toBe(0);
      const manifest = await readManifest(store, run.outputs['manifest-key'] ?? '');
      expect(manifest.volumeSnapshot).toMatchObject({ volume: volumeId, tags: ['titan-backup', 'titan-project-titanbackup'] });
      expect(manifest.volumeSnapshot?.name).toBe(`titanbackup-jetstream-${run.outputs['backup-id'] ?? ''}`);
      expect(run.summary).toContain('crash-consistent at best');
      ids.push(manifest.volumeSnapshot?.snapshotId ?? '');
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    const left = [...double.world.snapshots.values()].map((s) => [s.name, s.id] as const);
    expect(left.map(([name]) => name).sort()).toEqual(['operator-manual', ...ids.slice(1).map((id) => String(double.world.snapshots.get(id)?.name))].sort());
    expect(double.world.snapshots.has(ids[0] ?? '')).toBe(false);
  });

  it('a token DigitalOcean refuses: the backup fails naming it, nothing counted complete, nothing left', async () => {
    const before = (await store.list(`${PREFIX}/`)).filter((e) => e.key.endsWith('/manifest.json')).length;
    const run = await runBackup(inputs({ 'digitalocean-token': 'a'.repeat(64) }));
    expect(run.status).toBe(1);
    expect(run.outputs['complete']).toBe('false');
    expect(run.log).toMatch(/DigitalOcean answered 401/);
    expect((await store.list(`${PREFIX}/`)).filter((e) => e.key.endsWith('/manifest.json')).length).toBe(before);
    expect(await store.list(`${PREFIX}/${run.outputs['backup-id'] ?? 'x'}/`)).toEqual([]);
  });
});
