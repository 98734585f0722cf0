/**
 * The DigitalOcean account the API double stands in for: regions and sizes, Droplets, volumes and
 * their snapshots (api-double-storage.ts), firewalls, domains and their records
 * (api-double-network.ts), and the actions that take time. Each
 * handler answers one operation of the spec the way the real API does (status, body, the errors it
 * gives for values it refuses); the double validates every answer against the spec on the way out.
 */
import { randomUUID } from 'node:crypto';
import { error, now, type Answer, type DoubleRequest, type Json } from './api-double-answer.js';
import * as network from './api-double-network.js';
import * as storage from './api-double-storage.js';

export type { Answer, DoubleRequest } from './api-double-answer.js';

export interface WorldOptions {
  /** Regions and the size slugs each offers. */
  readonly regions: Readonly<Record<string, readonly string[]>>;
  readonly images: readonly string[];
  /** Polls of an action before it completes (1: the first poll after creation sees it done). */
  readonly actionPolls: number;
  /** The public IPv4 address of the n-th Droplet (from 0). */
  readonly dropletAddress: (index: number) => string;
  readonly dropletAddressV6: (index: number) => string;
}

const USER_DATA_LIMIT = 64 * 1024;

export class DoubleWorld {
  readonly droplets = new Map<number, Json>();
  readonly volumes = new Map<string, Json>();
  readonly snapshots = new Map<string, Json>();
  readonly firewalls = new Map<string, Json>();
  readonly domains = new Map<string, Json[]>();
  readonly actions = new Map<number, { action: Json; polls: number; outcome: 'completed' | 'errored' | 'never'; onDone?: () => void }>();
  /** User data of each Droplet as it was sent (what the metadata service would serve). */
  readonly userData = new Map<number, string>();
  /** Action types that end "errored" (fault injection). */
  readonly failingActions = new Set<string>();
  /** When set, Droplets never leave "new". */
  dropletsNeverActive = false;
  private nextId = 3_000_000;

  /** Whether the account offers region `slug`. */
  hasRegion(slug: string): boolean {
    return this.options.regions[slug] !== undefined;
  }

  private readonly options: WorldOptions;
  constructor(options: WorldOptions) {
    this.options = options;}

  addDomain(name: string): void {
    if (!this.domains.has(name)) this.domains.set(name, []);
  }

  handle(request: DoubleRequest): Answer {
    const elsewhere = network.HANDLERS[request.operationId] ?? storage.HANDLERS[request.operationId];
    if (elsewhere !== undefined) return elsewhere(this, request);
    const handler = (this as unknown as Record<string, ((r: DoubleRequest) => Answer) | undefined>)[request.operationId];
    if (typeof handler !== 'function') return error(501, 'not_implemented', `the API double does not implement ${request.operationId}`);
    return handler.call(this, request);
  }

  // ---------------------------------------------------------------------------------------- account
  account_get(): Answer {
    return { status: 200, body: { account: { droplet_limit: 25, floating_ip_limit: 5, email: 'operator@example.com', uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef', email_verified: true, status: 'active', status_message: '' } } };
  }

  regions_list(r: DoubleRequest): Answer {
    const regions = Object.entries(this.options.regions).map(([slug, sizes]) => ({ name: slug.toUpperCase(), slug, features: ['backups', 'ipv6', 'metadata', 'storage'], available: true, sizes: [...sizes] }));
    return { status: 200, body: this.page(r, 'regions', regions) };
  }

  sizes_list(r: DoubleRequest): Answer {
    const slugs = [...new Set(Object.values(this.options.regions).flat())].sort();
    const sizes = slugs.map((slug) => ({
      slug, memory: 2048, vcpus: 2, disk: 60, transfer: 3, price_monthly: 18, price_hourly: 0.02678, available: true, description: 'Basic',
      regions: Object.entries(this.options.regions).filter(([, s]) => s.includes(slug)).map(([region]) => region),
    }));
    return { status: 200, body: this.page(r, 'sizes', sizes) };
  }

  // --------------------------------------------------------------------------------------- actions
  actions_get(r: DoubleRequest): Answer {
    const entry = this.actions.get(Number(r.path.action_id));
    if (entry === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
    if (entry.action.status === 'in-progress' && entry.outcome !== 'never') {
      entry.polls++;
      if (entry.polls >= this.options.actionPolls) {
        entry.action.status = entry.outcome;
        entry.action.completed_at = now();
        if (entry.outcome === 'completed') entry.onDone?.();
      }
    }
    return { status: 200, body: { action: entry.action } };
  }

  /** An action of `type` on a resource that completes (or errors, or never ends) after the configured polls, then runs onDone. */
  startAction(type: string, resourceType: string, resourceId: number, region: string, onDone?: () => void, never = false): Json {
    const id = this.nextId++;
    const action: Json = { id, status: 'in-progress', type, started_at: now(), completed_at: null, resource_id: resourceId, resource_type: resourceType, region: this.region(region), region_slug: region };
    const outcome = this.failingActions.has(type) ? 'errored' : never ? 'never' : 'completed';
    this.actions.set(id, { action, polls: 0, outcome, onDone });
    return action;
  }

  // -------------------------------------------------------------------------------------- droplets
  droplets_list(r: DoubleRequest): Answer {
    const tag = r.query.tag_name;
    const name = r.query.name;
    if (tag !== undefined && name !== undefined) return error(422, 'unprocessable_entity', 'tag_name and name cannot be used together');
    const droplets = [...this.droplets.values()].filter((d) => (tag === undefined || (d.tags as string[]).includes(String(tag))) && (name === undefined || d.name === name));
    return { status: 200, body: this.page(r, 'droplets', droplets) };
  }

  droplets_get(r: DoubleRequest): Answer {
    const droplet = this.droplets.get(Number(r.path.droplet_id));
    if (droplet === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
    return { status: 200, body: { droplet } };
  }

  droplets_destroy(r: DoubleRequest): Answer {
    const id = Number(r.path.droplet_id);
    if (!this.droplets.delete(id)) return error(404, 'not_found', 'The resource you were accessing could not be found.');
    for (const volume of this.volumes.values()) volume.droplet_ids = (volume.droplet_ids as number[]).filter((d) => d !== id);
    return { status: 204 };
  }

  droplets_create(r: DoubleRequest): Answer {
    const body = r.body as Json;
    if (Array.isArray(body.names)) return error(422, 'unprocessable_entity', 'the API double creates one Droplet a request');
    const region = typeof body.region === 'string' ? body.region : '';
    const size = typeof body.size === 'string' ? body.size : '';
    const sizes = this.options.regions[region];
    if (sizes === undefined) return error(422, 'unprocessable_entity', 'You specified an invalid region for Droplet creation.');
    if (!sizes.includes(size)) return error(422, 'unprocessable_entity', 'Size is not available in this region.');
    if (!this.options.images.includes(String(body.image))) return error(422, 'unprocessable_entity', 'You specified an invalid image for Droplet creation.');
    const userData = typeof body.user_data === 'string' ? body.user_data : '';
    if (Buffer.byteLength(userData) > USER_DATA_LIMIT) return error(422, 'unprocessable_entity', 'user_data is too long: it must be 64 KiB or less.');
    const volumeIds = (body.volumes as string[] | undefined) ?? [];
    for (const v of volumeIds) {
      const volume = this.volumes.get(v);
      if (volume === undefined) return error(422, 'unprocessable_entity', `volume ${v} does not exist`);
      if ((volume.region as Json).slug !== region) return error(422, 'unprocessable_entity', 'The volume must be in the same region as the Droplet.');
    }
    const id = this.nextId++;
    const index = this.droplets.size;
    const networks: Json = { v4: [], v6: [] };
    const droplet: Json = {
      id, name: body.name, memory: 2048, vcpus: 2, disk: 60, locked: false, status: 'new', kernel: null, created_at: now(),
      features: body.ipv6 === true ? ['ipv6', 'monitoring'] : ['monitoring'], backup_ids: [], next_backup_window: null, snapshot_ids: [],
      image: { id: 170_000_000, name: String(body.image), distribution: 'Debian', slug: String(body.image), public: true, regions: [region], type: 'base', min_disk_size: 15, size_gigabytes: 1.2, created_at: now(), status: 'available' },
      volume_ids: volumeIds, size: this.sizeObject(size, region), size_slug: size, networks, region: this.region(region), tags: (body.tags) ?? [], vpc_uuid: randomUUID(),
    };
    this.droplets.set(id, droplet);
    this.userData.set(id, userData);
    for (const v of volumeIds) (this.volumes.get(v) as Json).droplet_ids = [id];
    const action = this.startAction('create', 'droplet', id, region, () => {
      if (this.dropletsNeverActive) return;
      droplet.status = 'active';
      networks.v4 = [{ ip_address: this.options.dropletAddress(index), netmask: '255.255.240.0', gateway: '192.0.2.1', type: 'public' }];
      if (body.ipv6 === true) networks.v6 = [{ ip_address: this.options.dropletAddressV6(index), netmask: 64, gateway: '2001:db8::1', type: 'public' }];
    }, this.dropletsNeverActive);
    return { status: 202, body: { droplet, links: { actions: [{ id: action.id, rel: 'create', href: `${r.baseUrl}/v2/actions/${String(action.id)}` }] } } };
  }

  /** A fresh id for a resource with a numeric id. */
  newId(): number {
    return this.nextId++;
  }

  // --------------------------------------------------------------------------------------- helpers
  /** The region object DigitalOcean embeds in resources. */
  region(slug: string): Json {
    return { name: slug.toUpperCase(), slug, features: ['backups', 'ipv6', 'metadata', 'storage'], available: true, sizes: [...(this.options.regions[slug] ?? [])] };
  }

  private sizeObject(slug: string, region: string): Json {
    return { slug, memory: 2048, vcpus: 2, disk: 60, transfer: 3, price_monthly: 18, price_hourly: 0.02678, regions: [region], available: true, description: 'Basic' };
  }

  /** One page of a list, with DigitalOcean's `links.pages` and `meta.total`. */
  page(r: DoubleRequest, key: string, items: readonly unknown[]): Json {
    const perPage = Math.min(200, Number(r.query.per_page ?? 20));
    const page = Math.max(1, Number(r.query.page ?? 1));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const url = (p: number) => `${r.baseUrl}${this.listPath(r)}?page=${p}&per_page=${perPage}`;
    const pages: Json = {};
    if (page > 1) Object.assign(pages, { first: url(1), prev: url(page - 1) });
    if (page < last) Object.assign(pages, { next: url(page + 1), last: url(last) });
    return { [key]: items.slice((page - 1) * perPage, page * perPage), links: { pages }, meta: { total: items.length } };
  }

  private listPath(r: DoubleRequest): string {
    const paths: Record<string, string> = { droplets_list: '/v2/droplets', volumes_list: '/v2/volumes', firewalls_list: '/v2/firewalls', snapshots_list: '/v2/snapshots', regions_list: '/v2/regions', sizes_list: '/v2/sizes' };
    return paths[r.operationId] ?? (r.operationId === 'domains_list_records' ? `/v2/domains/${r.path.domain_name ?? ''}/records` : `/v2/volumes/${r.path.volume_id ?? ''}/snapshots`);
  }
}
