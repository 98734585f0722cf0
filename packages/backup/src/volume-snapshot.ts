/**
 * The JetStream volume snapshot the existing system takes, through DigitalOcean's API
 * (@titan/digitalocean): the block-storage volume found by id or by name (and region), a snapshot
 * of it created with the backup's name and tags, then the oldest snapshots carrying the tag pruned
 * beyond `keep`. DigitalOcean allows at most 25 snapshots per volume: when the volume already has
 * that many, the oldest tagged ones are removed first to make room, and if they cannot make room (the
 * others are not ours) nothing is created and the error says so. Snapshots without the tag are never
 * touched. A volume snapshot is crash-consistent at best (the volume is copied while NATS writes to
 * it); the stream snapshots are the consistent backup.
 */
import { type DigitalOceanClient, expectData, expectOk } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import type { Logger } from '@titan/log/logger';
import type { VolumeSnapshotFacts } from './backup-manifest.js';

/** DigitalOcean's limit of snapshots per volume. */
export const SNAPSHOTS_PER_VOLUME = 25;
/** Tag names as DigitalOcean takes them. */
export const TAG_PATTERN = /^[a-zA-Z0-9_:-]{1,255}$/;
const VOLUME_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class VolumeSnapshotError extends Error {
  override readonly name = 'VolumeSnapshotError';
}

export interface VolumeSnapshotRequest {
  readonly client: DigitalOceanClient;
  /** The volume's id (a UUID) or its name. */
  readonly volume: string;
  /** The region, to tell apart volumes of the same name (optional). */
  readonly region: string | undefined;
  /** The tag that marks this suite's snapshots (what pruning looks at). */
  readonly tag: string;
  readonly extraTags: readonly string[];
  /** Snapshots with the tag kept, the new one included (1 to 24). */
  readonly keep: number;
  readonly name: string;
  readonly logger: Logger;
}

interface Snapshot {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
  readonly tags: readonly string[];
  readonly size_gigabytes: number;
}

function snapshotOf(value: unknown): Snapshot {
  const s = (value ?? {}) as Record<string, unknown>;
  const text = (key: string): string => (typeof s[key] === 'string' ? s[key] : '');
  return {
    id: text('id'),
    name: text('name'),
    created_at: text('created_at'),
    tags: Array.isArray(s['tags']) ? s['tags'].map(String) : [],
    size_gigabytes: typeof s['size_gigabytes'] === 'number' ? s['size_gigabytes'] : 0,
  };
}

async function resolveVolume(request: VolumeSnapshotRequest): Promise<{ id: string; name: string; region: string }> {
  const { client } = request;
  if (VOLUME_ID_PATTERN.test(request.volume)) {
    const { volume } = expectData(`GET /v2/volumes/${request.volume}`, await client.api.GET('/v2/volumes/{volume_id}', { params: { path: { volume_id: request.volume } } }));
    return { id: String(volume?.id ?? request.volume), name: String(volume?.name ?? ''), region: String(volume?.region?.slug ?? '') };
  }
  const found = await listAll(
    'GET /v2/volumes',
    (page, per_page) => client.api.GET('/v2/volumes', { params: { query: { name: request.volume, page, per_page } } }),
    (body) => body.volumes,
  );
  const matching = found.filter((v) => v.name === request.volume && (request.region === undefined || v.region?.slug === request.region));
  if (matching.length === 0) throw new VolumeSnapshotError(`No volume named ${request.volume}${request.region !== undefined ? ` in ${request.region}` : ''} in this DigitalOcean account: check jetstream-volume (its name or id).`);
  if (matching.length > 1) throw new VolumeSnapshotError(`${matching.length} volumes are named ${request.volume} (regions ${matching.map((v) => v.region?.slug ?? '?').join(', ')}): set jetstream-volume-region, or give the volume's id.`);
  const volume = matching[0];
  return { id: String(volume?.id ?? ''), name: request.volume, region: String(volume?.region?.slug ?? '') };
}

async function listSnapshots(client: DigitalOceanClient, volumeId: string): Promise<Snapshot[]> {
  const all = await listAll(
    `GET /v2/volumes/${volumeId}/snapshots`,
    (page, per_page) => client.api.GET('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: volumeId }, query: { page, per_page } } }),
    (body) => body.snapshots,
  );
  return all.map(snapshotOf).sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
}

async function remove(client: DigitalOceanClient, snapshot: Snapshot, logger: Logger, why: string): Promise<void> {
  expectOk(`DELETE /v2/volumes/snapshots/${snapshot.id}`, await client.api.DELETE('/v2/volumes/snapshots/{snapshot_id}', { params: { path: { snapshot_id: snapshot.id } } }));
  logger.info(`Removed volume snapshot ${snapshot.name} (${snapshot.id}, ${snapshot.created_at}): ${why}.`);
}

export async function snapshotVolume(request: VolumeSnapshotRequest): Promise<VolumeSnapshotFacts> {
  const { client, logger, tag } = request;
  if (!TAG_PATTERN.test(tag) || !request.extraTags.every((t) => TAG_PATTERN.test(t))) throw new VolumeSnapshotError(`Tags must be letters, digits, "_", ":" and "-" (at most 255).`);
  if (!Number.isInteger(request.keep) || request.keep < 1 || request.keep > SNAPSHOTS_PER_VOLUME - 1) {
    throw new VolumeSnapshotError(`The number of volume snapshots kept must be 1 to ${SNAPSHOTS_PER_VOLUME - 1} (DigitalOcean allows ${SNAPSHOTS_PER_VOLUME} per volume).`);
  }
  const volume = await resolveVolume(request);
  const removed: string[] = [];
  let existing = await listSnapshots(client, volume.id);
  const ours = (): Snapshot[] => existing.filter((s) => s.tags.includes(tag));
  // Room for one more under DigitalOcean's limit: the oldest of ours go first, never anyone else's.
  while (existing.length >= SNAPSHOTS_PER_VOLUME) {
    const oldest = ours()[0];
    if (oldest === undefined) {
      throw new VolumeSnapshotError(`Volume ${volume.name || volume.id} already has ${existing.length} snapshots, DigitalOcean's limit, and none carries the tag ${tag}: nothing was created or removed; remove some by hand.`);
    }
    await remove(client, oldest, logger, `DigitalOcean allows ${SNAPSHOTS_PER_VOLUME} snapshots per volume`);
    removed.push(oldest.id);
    existing = existing.filter((s) => s.id !== oldest.id);
  }
  const created = snapshotOf(
    expectData(
      `POST /v2/volumes/${volume.id}/snapshots`,
      await client.api.POST('/v2/volumes/{volume_id}/snapshots', { params: { path: { volume_id: volume.id } }, body: { name: request.name, tags: [tag, ...request.extraTags] } }),
    ).snapshot,
  );
  logger.info(`Volume snapshot ${created.name} (${created.id}) of ${volume.name || volume.id} in ${volume.region} created, tagged ${[tag, ...request.extraTags].join(', ')}.`);
  existing = [...existing.filter((s) => s.id !== created.id), { ...created, created_at: created.created_at || new Date().toISOString() }];
  const tagged = ours();
  for (const old of tagged.slice(0, Math.max(0, tagged.length - request.keep))) {
    if (old.id === created.id) continue;
    await remove(client, old, logger, `beyond the ${request.keep} kept`);
    removed.push(old.id);
  }
  return { volume: volume.id, snapshotId: created.id, name: created.name, sizeGigabytes: created.size_gigabytes, tags: [tag, ...request.extraTags], removed };
}
