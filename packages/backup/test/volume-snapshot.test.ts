/**
 * The JetStream volume snapshot against the DigitalOcean API double, whose every request and answer
 * is validated against DigitalOcean's OpenAPI spec: by name and by id, tagged, pruned beyond the
 * count, DigitalOcean's 25 per volume respected, other snapshots never touched, clear errors.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDigitalOceanClient, type DigitalOceanClient, expectData } from '@titan/digitalocean/client';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { recordingLogger, silentLogger } from '@titan/log/logger';
import { snapshotVolume, SNAPSHOTS_PER_VOLUME } from '../src/volume-snapshot.js';

const token = randomBytes(32).toString('hex');
let double: DigitalOceanApiDouble;
let client: DigitalOceanClient;

async function createVolume(name: string, region: 'fra1' | 'nyc3' = 'fra1'): Promise<string> {
  const { volume } = expectData('POST /v2/volumes', await client.api.POST('/v2/volumes', { body: { name, size_gigabytes: 10, region, filesystem_type: 'ext4' } }));
  return String(volume?.id);
}

async function tagged(volumeId: string, tag: string): Promise<string[]> {
  const { snapshots } = expectData('GET snapshots', await client.api.GET('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: volumeId }, query: { per_page: 200 } } }));
  return (snapshots ?? []).filter((s) => (s.tags ?? []).includes(tag)).map((s) => String(s.name));
}

beforeEach(async () => {
  double = await DigitalOceanApiDouble.start({ token });
  client = createDigitalOceanClient({ token, logger: silentLogger, baseUrl: double.url });
});
afterEach(async () => {
  double.assertValid();
  await double.close();
});

const base = { tag: 'titan-backup', extraTags: ['titan-jetstream'], keep: 3, region: undefined, logger: silentLogger } as const;

describe('snapshotVolume', () => {
  it('snapshots the volume found by name, tagged, and keeps the newest `keep` of ours', async () => {
    const id = await createVolume('titan-jetstream');
    const names: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const facts = await snapshotVolume({ ...base, client, volume: 'titan-jetstream', name: `titan-jetstream-${i}` });
      expect(facts.volume).toBe(id);
      expect(facts.tags).toEqual(['titan-backup', 'titan-jetstream']);
      names.push(facts.name);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // created_at has whole seconds
    }
    expect(await tagged(id, 'titan-backup')).toEqual(['titan-jetstream-2', 'titan-jetstream-3', 'titan-jetstream-4']);
    const creates = double.calls.filter((c) => c.method === 'POST' && c.url.includes('/snapshots'));
    expect(creates.length).toBe(4);
  }, 30_000);

  it('never touches snapshots without its tag; at DigitalOcean\'s limit it makes room from its own, or refuses', async () => {
    const id = await createVolume('titan-jetstream');
    for (let i = 0; i < SNAPSHOTS_PER_VOLUME - 1; i++) {
      expectData('POST', await client.api.POST('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: id } }, body: { name: `operator-${i}`, tags: ['manual'] } }));
    }
    const logger = recordingLogger();
    const first = await snapshotVolume({ ...base, client, volume: id, name: 'titan-a', logger });
    expect(first.removed).toEqual([]);
    // Now 25: the next makes room by removing the oldest of ours, which is the only one.
    const second = await snapshotVolume({ ...base, client, volume: id, name: 'titan-b', logger });
    expect(second.removed).toEqual([first.snapshotId]);
    expect(logger.text()).toContain('DigitalOcean allows 25 snapshots per volume');
    expect(await tagged(id, 'manual')).toHaveLength(SNAPSHOTS_PER_VOLUME - 1);
    // 24 of the operator's and 1 of ours; ours deleted and its place taken by the operator's: none of ours can go.
    await client.api.DELETE('/v2/volumes/snapshots/{snapshot_id}', { params: { path: { snapshot_id: second.snapshotId } } });
    expectData('POST', await client.api.POST('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: id } }, body: { name: 'operator-extra', tags: ['manual'] } }));
    double.resetCalls();
    await expect(snapshotVolume({ ...base, client, volume: id, name: 'titan-c' })).rejects.toThrow(/already has 25 snapshots, DigitalOcean's limit, and none carries the tag titan-backup: nothing was created or removed/);
    expect(double.writes()).toEqual([]);
  }, 30_000);

  it('a missing volume, an ambiguous name and a refused token are named', async () => {
    await expect(snapshotVolume({ ...base, client, volume: 'nope', name: 'x' })).rejects.toThrow(/No volume named nope in this DigitalOcean account/);
    await createVolume('jetstream', 'fra1');
    await createVolume('jetstream', 'nyc3');
    await expect(snapshotVolume({ ...base, client, volume: 'jetstream', name: 'x' })).rejects.toThrow(/2 volumes are named jetstream \(regions fra1, nyc3\): set jetstream-volume-region/);
    const inFra = await snapshotVolume({ ...base, client, volume: 'jetstream', region: 'fra1', name: 'x' });
    expect(inFra.name).toBe('x');
    const wrong = createDigitalOceanClient({ token: 'not-the-token', logger: silentLogger, baseUrl: double.url });
    await expect(snapshotVolume({ ...base, client: wrong, volume: 'jetstream', region: 'fra1', name: 'y' })).rejects.toThrow(/401/);
    await expect(snapshotVolume({ ...base, client, volume: 'jetstream', region: 'fra1', name: 'z', keep: 25 })).rejects.toThrow(/1 to 24/);
  }, 30_000);
});
