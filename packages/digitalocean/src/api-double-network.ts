/**
 * The API double's firewalls (PUT replaces the whole firewall; "all" ports read back as "0", as
 * DigitalOcean answers) and domains with their records (listed by fully qualified name and type).
 */
import { randomUUID } from 'node:crypto';
import { error, now, type Answer, type DoubleRequest, type Json } from './api-double-answer.js';
import type { DoubleWorld } from './api-double-world.js';

export function firewallsList(world: DoubleWorld, r: DoubleRequest): Answer {
  return { status: 200, body: world.page(r, 'firewalls', [...world.firewalls.values()]) };
}

export function firewallsGet(world: DoubleWorld, r: DoubleRequest): Answer {
  const firewall = world.firewalls.get(r.path.firewall_id ?? '');
  return firewall === undefined ? error(404, 'not_found', 'The resource you were accessing could not be found.') : { status: 200, body: { firewall } };
}

export function firewallsCreate(world: DoubleWorld, r: DoubleRequest): Answer {
  const body = r.body as Json;
  if ([...world.firewalls.values()].some((f) => f.name === body.name)) return error(409, 'conflict', 'a firewall with that name already exists');
  const firewall = firewallFrom(randomUUID(), now(), body);
  world.firewalls.set(String(firewall.id), firewall);
  return { status: 202, body: { firewall } };
}

export function firewallsUpdate(world: DoubleWorld, r: DoubleRequest): Answer {
  const old = world.firewalls.get(r.path.firewall_id ?? '');
  if (old === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  const firewall = firewallFrom(String(old.id), String(old.created_at), r.body as Json);
  world.firewalls.set(String(firewall.id), firewall);
  return { status: 200, body: { firewall } };
}

function firewallFrom(id: string, createdAt: string, body: Json): Json {
  const rules = (list: unknown) => ((list as Json[] | undefined) ?? []).map((rule) => ({ ...rule, ports: rule.protocol === 'icmp' ? '0' : rule.ports === 'all' ? '0' : rule.ports }));
  return { id, name: body.name, status: 'succeeded', created_at: createdAt, pending_changes: [], inbound_rules: rules(body.inbound_rules), outbound_rules: rules(body.outbound_rules), droplet_ids: body.droplet_ids ?? [], tags: body.tags ?? [] };
}

export function domainsGet(world: DoubleWorld, r: DoubleRequest): Answer {
  const name = r.path.domain_name ?? '';
  if (!world.domains.has(name)) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  return { status: 200, body: { domain: { name, ttl: 1800, zone_file: `$ORIGIN ${name}.\n` } } };
}

export function domainsListRecords(world: DoubleWorld, r: DoubleRequest): Answer {
  const zone = r.path.domain_name ?? '';
  const records = world.domains.get(zone);
  if (records === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  const fqdn = (record: Json) => (record.name === '@' ? zone : `${String(record.name)}.${zone}`);
  const filtered = records.filter((rec) => (r.query.name === undefined || fqdn(rec) === r.query.name) && (r.query.type === undefined || rec.type === r.query.type));
  return { status: 200, body: world.page(r, 'domain_records', filtered) };
}

export function domainsCreateRecord(world: DoubleWorld, r: DoubleRequest): Answer {
  const records = world.domains.get(r.path.domain_name ?? '');
  if (records === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  const body = r.body as Json;
  const record: Json = { id: world.newId(), type: body.type, name: body.name, data: body.data, priority: null, port: null, ttl: body.ttl ?? 1800, weight: null, flags: null, tag: null };
  records.push(record);
  return { status: 201, body: { domain_record: record } };
}

export function domainsUpdateRecord(world: DoubleWorld, r: DoubleRequest): Answer {
  const records = world.domains.get(r.path.domain_name ?? '');
  const record = records?.find((rec) => rec.id === Number(r.path.domain_record_id));
  if (record === undefined) return error(404, 'not_found', 'The resource you were accessing could not be found.');
  Object.assign(record, Object.fromEntries(Object.entries(r.body as Json).filter(([k]) => ['type', 'name', 'data', 'ttl'].includes(k))));
  return { status: 200, body: { domain_record: record } };
}

/** The operations answered here, by operation id. */
export const HANDLERS: Readonly<Record<string, (world: DoubleWorld, r: DoubleRequest) => Answer>> = {
  firewalls_list: firewallsList,
  firewalls_get: firewallsGet,
  firewalls_create: firewallsCreate,
  firewalls_update: firewallsUpdate,
  domains_get: domainsGet,
  domains_list_records: domainsListRecords,
  domains_create_record: domainsCreateRecord,
  domains_update_record: domainsUpdateRecord,
};
