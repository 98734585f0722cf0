/** Names for the DigitalOcean schemas the suite works with (generated from the spec). */
import type { components } from '../generated/digitalocean-api.js';

type Schemas = components['schemas'];
export type Droplet = Schemas['droplet'];
export type DropletCreate = Schemas['droplet_single_create'];
export type Volume = Schemas['volume_full'];
export type VolumeSnapshot = Schemas['snapshots'];
export type Firewall = Schemas['firewall'];
export type FirewallRules = Schemas['firewall_rules'];
export type DomainRecord = Schemas['domain_record'];
export type Region = Schemas['region'];
export type Size = Schemas['size'];
export type ApiErrorBody = Schemas['error'];
/** A region slug as the spec enumerates them; values read from GET /v2/regions are cast to it. */
export type RegionSlug = Schemas['region_slug'];
