/**
 * The block storage volume that holds JetStream's data: found by name in the Droplet's region,
 * created (ext4, formatted by DigitalOcean, tagged) when missing, attached to the Droplet. A new
 * Droplet gets it at creation, so cloud-init mounts it at first boot; an existing one gets an
 * attach action. Its size only grows by hand: a difference is drift.
 */
import { waitForAction } from '@titan/digitalocean/action-wait';
import type { RegionSlug, Volume } from '@titan/digitalocean/api-schemas';
import { expectData, type DigitalOceanClient } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import type { Logger } from '@titan/log/logger';
import type { VolumeTarget } from './provision-target.js';
import { change, type ResourceChange } from './resource-change.js';

export async function findVolume(client: DigitalOceanClient, name: string, region: string): Promise<Volume | undefined> {
  const volumes = await listAll(`GET /v2/volumes?name=${name}`, (page, per_page) => client.api.GET('/v2/volumes', { params: { query: { name, region: region as RegionSlug, page, per_page } } }), (b) => b.volumes);
  return volumes.find((v) => v.name === name && v.region?.slug === region);
}

export function inspectVolume(volume: Volume | undefined, target: VolumeTarget, region: string, dropletId: number | undefined): ResourceChange {
  if (volume === undefined) return change('volume', target.name, 'create', [`${target.sizeGiB} GiB ext4 in ${region}, attached to the Droplet, mounted for JetStream`]);
  const details: string[] = [];
  let kind: ResourceChange['kind'] = 'unchanged';
  const attached = volume.droplet_ids ?? [];
  if (dropletId !== undefined && attached.length > 0 && !attached.includes(dropletId)) {
    throw new Error(`The volume ${target.name} (${volume.id}) is attached to Droplet ${attached.join(', ')}, not to this host (${dropletId}): detach it there first, or give this host its own volume name; nothing was changed.`);
  }
  if (dropletId !== undefined && !attached.includes(dropletId)) {
    kind = 'change';
    details.push(`attach to Droplet ${dropletId}`);
  }
  if (volume.size_gigabytes !== target.sizeGiB) {
    details.push(`size is ${volume.size_gigabytes} GiB, wanted ${target.sizeGiB} GiB: not resized (grow it yourself: volumes only grow)`);
    if (kind === 'unchanged') kind = 'drift';
  }
  return change('volume', target.name, kind, details, volume.id);
}

export async function createVolume(client: DigitalOceanClient, target: VolumeTarget, region: string, tag: string, logger: Logger): Promise<Volume> {
  const { volume } = expectData(
    'POST /v2/volumes',
    await client.api.POST('/v2/volumes', {
      body: {
        name: target.name,
        size_gigabytes: target.sizeGiB,
        region: region as RegionSlug,
        filesystem_type: 'ext4',
        filesystem_label: target.name.slice(0, 16),
        description: 'Titan JetStream data (action-provision)',
        tags: [tag],
      },
    }),
  );
  if (volume === undefined) throw new Error('POST /v2/volumes: the answer holds no volume');
  logger.info(`created volume ${target.name} (${volume.id ?? '?'})`);
  return volume;
}

export async function attachVolume(client: DigitalOceanClient, volume: Volume, dropletId: number, region: string, options: { logger: Logger; timeoutMs: number; intervalMs?: number }): Promise<void> {
  const id = volume.id ?? '';
  const { action } = expectData(
    `POST /v2/volumes/${id}/actions`,
    await client.api.POST('/v2/volumes/{volume_id}/actions', { params: { path: { volume_id: id } }, body: { type: 'attach', droplet_id: dropletId, region: region as RegionSlug } }),
  );
  if (action?.id === undefined) throw new Error(`POST /v2/volumes/${id}/actions: the answer holds no action`);
  await waitForAction(client, action.id, `attaching volume ${volume.name ?? id} to Droplet ${dropletId}`, options);
}
