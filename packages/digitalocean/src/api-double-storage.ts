/**
 * The API double's block storage: volumes (listed by name and region, a name once per region, a
 * volume attached to a Droplet is not deleted), attach and detach as actions that take time, and
 * volume snapshots.
 */
import { randomUUID } from 'node:crypto';
import { error, now, type Answer, type DoubleRequest, type Json } from './api-double-answer.js';
import type { DoubleWorld } from './api-double-world.js';

export function volumesList(world: DoubleWorld, r: DoubleRequest): Answer {
  const volumes = [...world.volumes.values()].filter((v) => (r.query.name === undefined || v.name === r.query.name) && (r.query.region === undefined || (v.region as Json).slug === r.query.region));
  return { status: 200, body: world.page(r, 'volumes', volumes) };
}

export function volumesCreate(world: DoubleWorld, r: DoubleRequest): Answer {
  const body = r.body as Json;
  const region = String(body.region);
  if (!world.hasRegion(region)) return error(422, 'unprocessable_entity', 'invalid region');
  if ([...world.volumes.values()].some((v) => v.name === body.name && (v.region as Json).slug === region)) return error(409, 'conflict', 'a volume with that name already exists in the region');
  const volume: Json = {
    id: randomUUID(), name: body.name, description: body.description ?? '', size_gigabytes: body.size_gigabytes, droplet_ids: [], created_at: now(), tags: body.tags ?? [],
    region: world.region(region), filesystem_type: body.filesystem_type ?? '', filesystem_label: body.filesystem_label ?? '',
  };
  world.volumes.set(String(volume.id), volume);
  return { status: 201, body: { volume } };
}

export function volumesGet(world: DoubleWorld, r: DoubleRequest): Answer {
  const volume = world.volumes.get(r.path.volume_id ?? '');
  return volume === undefined ? error(404, 'not_found', 'The resource you were accessing could not be found.') : { status: 200, body: { volume } };
}

export function volumesDelete(world: DoubleWorld, r: DoubleRequest): Answer {
  const volume = world.volumes.get(r.path.volume_id ?? '');
  if (volume === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  if ((volume.droplet_ids as number[]).length > 0) return error(409, 'conflict', 'The volume is attached to a Droplet: detach it first.');
  world.volumes.delete(String(volume.id));
  return { status: 204 };
}

export function volumeActionsPostById(world: DoubleWorld, r: DoubleRequest): Answer {
  const volume = world.volumes.get(r.path.volume_id ?? '');
  const body = r.body as Json;
  if (volume === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  const dropletId = Number(body.droplet_id);
  const droplet = world.droplets.get(dropletId);
  if (body.type !== 'attach' && body.type !== 'detach') return error(422, 'unprocessable_entity', `the API double does not ${String(body.type)} volumes`);
  if (droplet === undefined) return error(404, 'not_found', 'The Droplet could not be found.');
  const region = (volume.region as Json).slug as string;
  if ((droplet.region as Json).slug !== region) return error(422, 'unprocessable_entity', 'The volume must be in the same region as the Droplet.');
  const attach = body.type === 'attach';
  const action = world.startAction(`${String(body.type)}_volume`, 'volume', 0, region, () => {
    volume.droplet_ids = attach ? [dropletId] : [];
    const ids = (droplet.volume_ids as string[]).filter((v) => v !== volume.id);
    droplet.volume_ids = attach ? [...ids, volume.id] : ids;
  });
  return { status: 202, body: { action: { ...action, resource_id: undefined } } };
}

export function volumeSnapshotsCreate(world: DoubleWorld, r: DoubleRequest): Answer {
  const volume = world.volumes.get(r.path.volume_id ?? '');
  if (volume === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  const body = r.body as Json;
  const snapshot: Json = {
    id: randomUUID(), name: body.name, created_at: now(), regions: [(volume.region as Json).slug], min_disk_size: volume.size_gigabytes, size_gigabytes: 0.4,
    resource_id: volume.id, resource_type: 'volume', tags: body.tags ?? [],
  };
  world.snapshots.set(String(snapshot.id), snapshot);
  return { status: 201, body: { snapshot } };
}

export function volumeSnapshotsList(world: DoubleWorld, r: DoubleRequest): Answer {
  if (!world.volumes.has(r.path.volume_id ?? '')) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  return { status: 200, body: world.page(r, 'snapshots', [...world.snapshots.values()].filter((s) => s.resource_id === r.path.volume_id)) };
}

export function snapshotsList(world: DoubleWorld, r: DoubleRequest): Answer {
  const type = r.query.resource_type;
  return { status: 200, body: world.page(r, 'snapshots', [...world.snapshots.values()].filter((s) => type === undefined || s.resource_type === type)) };
}

export function volumeSnapshotsGetById(world: DoubleWorld, r: DoubleRequest): Answer {
  const snapshot = world.snapshots.get(r.path.snapshot_id ?? '');
  return snapshot === undefined ? error(404, 'not_found', 'The resource you were accessing could not be found.') : { status: 200, body: { snapshot } };
}

export function volumeSnapshotsDeleteById(world: DoubleWorld, r: DoubleRequest): Answer {
  return world.snapshots.delete(r.path.snapshot_id ?? '') ? { status: 204 } : error(404, 'not_found', 'The resource you were accessing could not be found.');
}

export const HANDLERS: Readonly<Record<string, (world: DoubleWorld, r: DoubleRequest) => Answer>> = {
  volumes_list: volumesList,
  volumes_create: volumesCreate,
  volumes_get: volumesGet,
  volumes_delete: volumesDelete,
  volumeActions_post_byId: volumeActionsPostById,
  volumeSnapshots_create: volumeSnapshotsCreate,
  volumeSnapshots_list: volumeSnapshotsList,
  snapshots_list: snapshotsList,
  volumeSnapshots_get_byId: volumeSnapshotsGetById,
  volumeSnapshots_delete_byId: volumeSnapshotsDeleteById,
};
