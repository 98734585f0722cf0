/**
 * The host's DNS name: an A record (and AAAA when the Droplet has IPv6) in a DigitalOcean domain,
 * upserted: created when missing, its data or TTL changed when they differ, left alone when equal.
 * Two records of one type on the name is ambiguous and stops with the ids to clean up.
 */
import type { DomainRecord } from '@titan/digitalocean/api-schemas';
import { expectData, type DigitalOceanClient } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import { dnsName, type DnsTarget } from './provision-target.js';
import { change, type ResourceChange } from './resource-change.js';

export type RecordType = 'A' | 'AAAA';

export class DnsZoneMissingError extends Error {
  override readonly name = 'DnsZoneMissingError';
  readonly zone: string;
  constructor(zone: string) {
    super(`The domain ${zone} is not in this DigitalOcean account: add it (Networking → Domains, with its nameservers pointed at DigitalOcean), or set dns-zone to the domain that holds the name.`);
    this.zone = zone;
  }
}

export async function checkZone(client: DigitalOceanClient, zone: string): Promise<void> {
  const result = await client.api.GET('/v2/domains/{domain_name}', { params: { path: { domain_name: zone } } });
  if (result.response.status === 404) throw new DnsZoneMissingError(zone);
  expectData(`GET /v2/domains/${zone}`, result);
}

export async function findRecords(client: DigitalOceanClient, dns: DnsTarget, type: RecordType): Promise<DomainRecord[]> {
  const name = dnsName(dns);
  return listAll(
    `GET /v2/domains/${dns.zone}/records?name=${name}&type=${type}`,
    (page, per_page) => client.api.GET('/v2/domains/{domain_name}/records', { params: { path: { domain_name: dns.zone }, query: { name, type, page, per_page } } }),
    (b) => b.domain_records,
  );
}

export function inspectRecord(records: readonly DomainRecord[], dns: DnsTarget, type: RecordType, address: string | undefined): ResourceChange {
  const name = `${dnsName(dns)}`;
  if (records.length > 1) {
    throw new Error(`${name} has ${records.length} ${type} records (ids ${records.map((r) => r.id).join(', ')}): it must point at this host only; delete the others (Networking → Domains → ${dns.zone}), nothing was changed.`);
  }
  const wanted = address ?? '(the Droplet\'s address)';
  const live = records[0];
  if (live === undefined) return change(`dns ${type}`, name, 'create', [`${wanted}, TTL ${dns.ttl}`]);
  const details: string[] = [];
  if (live.data !== address) details.push(`points at ${live.data ?? '?'}, wanted ${wanted}`);
  if (live.ttl !== dns.ttl) details.push(`TTL ${live.ttl ?? '?'}, wanted ${dns.ttl}`);
  return change(`dns ${type}`, name, details.length > 0 ? 'change' : 'unchanged', details, String(live.id));
}

export async function writeRecord(client: DigitalOceanClient, records: readonly DomainRecord[], dns: DnsTarget, type: RecordType, address: string): Promise<string> {
  const live = records[0];
  const body = { type, name: dns.record, data: address, ttl: dns.ttl };
  if (live?.id === undefined) {
    const { domain_record } = expectData(`POST /v2/domains/${dns.zone}/records`, await client.api.POST('/v2/domains/{domain_name}/records', { params: { path: { domain_name: dns.zone } }, body }));
    return String(domain_record?.id ?? '?');
  }
  const id = live.id;
  await client.api.PUT('/v2/domains/{domain_name}/records/{domain_record_id}', { params: { path: { domain_name: dns.zone, domain_record_id: id } }, body }).then((r) => expectData(`PUT /v2/domains/${dns.zone}/records/${id}`, r));
  return String(id);
}
