/**
 * The cloud firewall in front of the Droplet (applied by tag, so a rebuilt host is covered the
 * moment it carries the tag): SSH only from the allowed ranges, HTTP and HTTPS from anywhere,
 * nothing else inbound; outbound open. The whole desired firewall is compared with the live one
 * after normalising both (rule order, address order, DigitalOcean's "0" for all ports), and
 * written (PUT replaces the whole firewall) only when they differ.
 */
import type { Firewall } from '@titan/digitalocean/api-schemas';
import { expectData, type DigitalOceanClient } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import type { FirewallTarget } from './provision-target.js';
import { change, type ResourceChange } from './resource-change.js';

const EVERYWHERE = ['0.0.0.0/0', '::/0'];

export interface FirewallRuleShape {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly ports: string;
  readonly addresses: readonly string[];
}

export interface FirewallShape {
  readonly name: string;
  readonly inbound: readonly FirewallRuleShape[];
  readonly outbound: readonly FirewallRuleShape[];
  readonly tags: readonly string[];
  readonly dropletIds: readonly number[];
}

export function desiredFirewall(target: FirewallTarget, tag: string, sshPort: number, sshSources: readonly string[]): FirewallShape {
  return {
    name: target.name,
    inbound: [
      { protocol: 'tcp', ports: String(sshPort), addresses: sshSources },
      { protocol: 'tcp', ports: '80', addresses: EVERYWHERE },
      { protocol: 'tcp', ports: '443', addresses: EVERYWHERE },
    ],
    outbound: [
      { protocol: 'tcp', ports: '0', addresses: EVERYWHERE },
      { protocol: 'udp', ports: '0', addresses: EVERYWHERE },
      { protocol: 'icmp', ports: '0', addresses: EVERYWHERE },
    ],
    tags: [tag],
    dropletIds: [],
  };
}

type LiveRule = { protocol?: string; ports?: string; sources?: { addresses?: string[] | null }; destinations?: { addresses?: string[] | null } };

/** A live firewall in the same shape, so the two compare field by field. */
export function liveFirewall(firewall: Firewall): FirewallShape {
  const rules = (list: readonly LiveRule[] | null | undefined, side: 'sources' | 'destinations'): FirewallRuleShape[] =>
    (list ?? []).map((r) => ({ protocol: (r.protocol ?? 'tcp') as FirewallRuleShape['protocol'], ports: r.ports ?? '0', addresses: r[side]?.addresses ?? [] }));
  return {
    name: firewall.name ?? '',
    inbound: rules(firewall.inbound_rules, 'sources'),
    outbound: rules(firewall.outbound_rules, 'destinations'),
    tags: (firewall.tags) ?? [],
    dropletIds: firewall.droplet_ids ?? [],
  };
}

function normalPorts(rule: FirewallRuleShape): string {
  if (rule.protocol === 'icmp' || rule.ports === '' || rule.ports === 'all' || rule.ports === '1-65535') return '0';
  return rule.ports;
}

function ruleKey(rule: FirewallRuleShape): string {
  return `${rule.protocol} ${normalPorts(rule)} from/to ${[...rule.addresses].sort().join(',')}`;
}

/** The differences between live and desired, one line each (empty: equal). */
export function firewallDifferences(live: FirewallShape, desired: FirewallShape): string[] {
  const lines: string[] = [];
  const compare = (what: string, a: readonly string[], b: readonly string[]) => {
    const have = new Set(a);
    const want = new Set(b);
    for (const x of [...want].sort()) if (!have.has(x)) lines.push(`${what}: add ${x}`);
    for (const x of [...have].sort()) if (!want.has(x)) lines.push(`${what}: remove ${x}`);
  };
  compare('inbound', live.inbound.map(ruleKey), desired.inbound.map(ruleKey));
  compare('outbound', live.outbound.map(ruleKey), desired.outbound.map(ruleKey));
  compare('tags', live.tags, desired.tags);
  compare('droplets', live.dropletIds.map(String), desired.dropletIds.map(String));
  return lines;
}

export async function findFirewall(client: DigitalOceanClient, name: string): Promise<Firewall | undefined> {
  const all = await listAll('GET /v2/firewalls', (page, per_page) => client.api.GET('/v2/firewalls', { params: { query: { page, per_page } } }), (b) => b.firewalls);
  return all.find((f) => f.name === name);
}

export function inspectFirewall(live: Firewall | undefined, desired: FirewallShape): ResourceChange {
  if (live === undefined) return change('firewall', desired.name, 'create', desired.inbound.map((r) => `inbound ${ruleKey(r)}`));
  const differences = firewallDifferences(liveFirewall(live), desired);
  return change('firewall', desired.name, differences.length > 0 ? 'change' : 'unchanged', differences, live.id);
}

function body(desired: FirewallShape) {
  return {
    name: desired.name,
    inbound_rules: desired.inbound.map((r) => ({ protocol: r.protocol, ports: r.ports, sources: { addresses: [...r.addresses] } })),
    outbound_rules: desired.outbound.map((r) => ({ protocol: r.protocol, ports: r.ports, destinations: { addresses: [...r.addresses] } })),
    tags: [...desired.tags],
    droplet_ids: [...desired.dropletIds],
  };
}

export async function writeFirewall(client: DigitalOceanClient, live: Firewall | undefined, desired: FirewallShape): Promise<string> {
  if (live?.id === undefined) {
    const { firewall } = expectData('POST /v2/firewalls', await client.api.POST('/v2/firewalls', { body: body(desired) }));
    return firewall?.id ?? '?';
  }
  const id = live.id;
  const { firewall } = expectData(`PUT /v2/firewalls/${id}`, await client.api.PUT('/v2/firewalls/{firewall_id}', { params: { path: { firewall_id: id } }, body: body(desired) }));
  return firewall?.id ?? id;
}
