/**
 * What one run converges: the Droplet, its JetStream volume, the cloud firewall, the DNS records
 * and the host itself. Built (and checked) by the action's settings; libraries take it as given.
 */
import type { HostSpec } from './host-spec.js';

export interface DropletTarget {
  readonly name: string;
  /** The Droplet is found by this tag, never by its name alone. */
  readonly tag: string;
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly ipv6: boolean;
  readonly upgradePackages: boolean;
}

export interface VolumeTarget {
  readonly name: string;
  readonly sizeGiB: number;
}

export interface FirewallTarget {
  readonly name: string;
}

export interface DnsTarget {
  /** The DigitalOcean domain (zone) holding the record. */
  readonly zone: string;
  /** The record's name inside the zone (`@` for the zone apex). */
  readonly record: string;
  readonly ttl: number;
}

export interface ProvisionTarget {
  readonly droplet: DropletTarget;
  readonly volume?: VolumeTarget;
  readonly firewall?: FirewallTarget;
  readonly dns?: DnsTarget;
  readonly host: HostSpec;
}

/** The fully qualified name of a DNS target. */
export function dnsName(dns: DnsTarget): string {
  return dns.record === '@' ? dns.zone : `${dns.record}.${dns.zone}`;
}
