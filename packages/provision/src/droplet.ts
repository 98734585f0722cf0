/**
 * The Droplet: found by its tag (never by name alone), created with the user data when missing,
 * compared with what is wanted when found. Size, image and region are fixed at creation: a
 * difference is reported as drift, never "fixed" by recreating a production host.
 */
import { pollUntil, waitForAction } from '@titan/digitalocean/action-wait';
import type { Droplet } from '@titan/digitalocean/api-schemas';
import { expectData, type DigitalOceanClient } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import type { Logger } from '@titan/log/logger';
import type { DropletTarget } from './provision-target.js';
import { change, type ResourceChange } from './resource-change.js';

export class TagMatchesManyError extends Error {
  override readonly name = 'TagMatchesManyError';
  readonly tag: string;
  readonly droplets: readonly Droplet[];
  constructor(tag: string, droplets: readonly Droplet[]) {
    super(
      `The tag ${tag} is on ${droplets.length} Droplets (${droplets.map((d) => `${d.name} id ${d.id}`).join(', ')}); a provisioning tag must name exactly one host. ` +
        `Remove the tag from every Droplet that is not this host (Control panel → Droplet → Tags, or doctl compute droplet untag), or give this host its own tag; nothing was changed.`,
    );
    this.tag = tag;
    this.droplets = droplets;
  }
}

export async function findDropletByTag(client: DigitalOceanClient, tag: string): Promise<Droplet | undefined> {
  const droplets = await listAll(`GET /v2/droplets?tag_name=${tag}`, (page, per_page) => client.api.GET('/v2/droplets', { params: { query: { tag_name: tag, page, per_page } } }), (b) => b.droplets);
  if (droplets.length > 1) throw new TagMatchesManyError(tag, droplets);
  return droplets[0];
}

/** Create-only fields that differ from the target, one line each. */
export function dropletDrift(droplet: Droplet, target: DropletTarget): string[] {
  const drift: string[] = [];
  const differs = (field: string, live: string | undefined, wanted: string) => {
    if (live !== wanted) drift.push(`${field} is ${live ?? '(none)'}, wanted ${wanted}: set at creation, not changed (resize or rebuild it yourself, or provision a new host)`);
  };
  differs('size', droplet.size_slug, target.size);
  differs('image', droplet.image.slug ?? String(droplet.image.id ?? ''), target.image);
  differs('region', droplet.region.slug, target.region);
  differs('name', droplet.name, target.name);
  if (target.ipv6 && !droplet.features.includes('ipv6') && droplet.networks.v6?.length === 0) drift.push('IPv6 is off, wanted on: enable it in the control panel (Networking → IPv6)');
  return drift;
}

export function inspectDroplet(droplet: Droplet | undefined, target: DropletTarget): ResourceChange {
  if (droplet === undefined) {
    return change('droplet', target.name, 'create', [`${target.size} in ${target.region}, image ${target.image}, tag ${target.tag}${target.ipv6 ? ', IPv6' : ''}, hardened by cloud-init at first boot`]);
  }
  const drift = dropletDrift(droplet, target);
  return change('droplet', target.name, drift.length > 0 ? 'drift' : 'unchanged', drift, `id ${droplet.id}`);
}

export interface CreateDropletOptions {
  readonly target: DropletTarget;
  readonly userData: string;
  readonly volumeIds: readonly string[];
  readonly logger: Logger;
}

export async function createDroplet(client: DigitalOceanClient, options: CreateDropletOptions): Promise<{ droplet: Droplet; actionId: number | undefined }> {
  const { target } = options;
  const body = expectData(
    'POST /v2/droplets',
    await client.api.POST('/v2/droplets', {
      body: {
        name: target.name,
        region: target.region,
        size: target.size,
        image: target.image,
        tags: [target.tag],
        ipv6: target.ipv6,
        monitoring: false,
        user_data: options.userData,
        volumes: [...options.volumeIds],
      },
    }),
  );
  if (!('droplet' in body)) throw new Error('POST /v2/droplets: DigitalOcean answered with several Droplets for one');
  options.logger.info(`created Droplet ${body.droplet.name} (id ${body.droplet.id}), tag ${target.tag}`);
  return { droplet: body.droplet, actionId: body.links.actions?.find((a) => a.rel === 'create')?.id ?? body.links.actions?.[0]?.id };
}

export interface ActiveWaitOptions {
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/** Waits for the create action, then for the Droplet to be `active` with a public address. */
export async function waitUntilActive(client: DigitalOceanClient, droplet: Droplet, actionId: number | undefined, options: ActiveWaitOptions): Promise<Droplet> {
  const started = Date.now();
  const what = `Droplet ${droplet.name} (id ${droplet.id}) to become active`;
  if (actionId !== undefined) await waitForAction(client, actionId, `creating Droplet ${droplet.name}`, { ...options });
  const left = Math.max(1000, options.timeoutMs - (Date.now() - started));
  return pollUntil(
    what,
    async () => {
      const live = expectData(`GET /v2/droplets/${droplet.id}`, await client.api.GET('/v2/droplets/{droplet_id}', { params: { path: { droplet_id: droplet.id } } })).droplet;
      if (live === undefined) throw new Error(`GET /v2/droplets/${droplet.id}: the answer holds no Droplet`);
      return live;
    },
    (d) => d.status === 'active' && publicAddress(d, 4) !== undefined,
    (d) => `status ${d.status}${publicAddress(d, 4) === undefined ? ', no public address yet' : ''}`,
    { ...options, timeoutMs: left },
  );
}

export function publicAddress(droplet: Droplet, family: 4 | 6): string | undefined {
  const list = family === 4 ? droplet.networks.v4 : droplet.networks.v6;
  return list?.find((n) => n.type === 'public')?.ip_address;
}
