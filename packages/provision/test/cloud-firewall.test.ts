import { describe, expect, it } from 'vitest';
import { desiredFirewall, firewallDifferences, liveFirewall } from '../src/cloud-firewall.js';

const desired = desiredFirewall({ name: 'titan-prod-firewall' }, 'titan-prod', 22, ['203.0.113.0/24', '198.51.100.7/32']);

describe('the cloud firewall comparison', () => {
  it('finds no difference in a live firewall that says the same in another order and spelling', () => {
    const live = liveFirewall({
      id: 'f', name: 'titan-prod-firewall', status: 'succeeded', created_at: '2026-01-01T00:00:00Z', pending_changes: [], droplet_ids: [], tags: ['titan-prod'],
      inbound_rules: [
        { protocol: 'tcp', ports: '443', sources: { addresses: ['::/0', '0.0.0.0/0'] } },
        { protocol: 'tcp', ports: '22', sources: { addresses: ['198.51.100.7/32', '203.0.113.0/24'] } },
        { protocol: 'tcp', ports: '80', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
      ],
      outbound_rules: [
        { protocol: 'icmp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
        { protocol: 'udp', ports: 'all', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
        { protocol: 'tcp', ports: '0', destinations: { addresses: ['::/0', '0.0.0.0/0'] } },
      ],
    } as never);
    expect(firewallDifferences(live, desired)).toEqual([]);
  });

  it('names every rule to add and to remove, and a port opened by hand', () => {
    const live = liveFirewall({
      name: 'titan-prod-firewall', droplet_ids: [42], tags: [],
      inbound_rules: [
        { protocol: 'tcp', ports: '22', sources: { addresses: ['0.0.0.0/0'] } },
        { protocol: 'tcp', ports: '5432', sources: { addresses: ['0.0.0.0/0'] } },
      ],
      outbound_rules: [],
    } as never);
    expect(firewallDifferences(live, desired)).toEqual([
      'inbound: add tcp 22 from/to 198.51.100.7/32,203.0.113.0/24',
      'inbound: add tcp 443 from/to 0.0.0.0/0,::/0',
      'inbound: add tcp 80 from/to 0.0.0.0/0,::/0',
      'inbound: remove tcp 22 from/to 0.0.0.0/0',
      'inbound: remove tcp 5432 from/to 0.0.0.0/0',
      'outbound: add icmp 0 from/to 0.0.0.0/0,::/0',
      'outbound: add tcp 0 from/to 0.0.0.0/0,::/0',
      'outbound: add udp 0 from/to 0.0.0.0/0,::/0',
      'tags: add titan-prod',
      'droplets: remove 42',
    ]);
  });
});
