/**
 * One provisioning run: read everything first (account, region and size, the Droplet by its tag,
 * the volume, the firewall, the DNS records, the host over its pinned connection), say what would
 * change, and in plan mode stop there. Otherwise apply the differences in order (volume, Droplet
 * and its first boot, firewall, DNS, host, GitHub secrets) and nothing else: a second run over a
 * converged host makes no write at all. A failure names what this run had already done.
 */
import type { Droplet } from '@titan/digitalocean/api-schemas';
import { expectData, type DigitalOceanClient } from '@titan/digitalocean/client';
import { listAll } from '@titan/digitalocean/pagination';
import type { Logger } from '@titan/log/logger';
import { desiredFirewall, findFirewall, inspectFirewall, writeFirewall } from './cloud-firewall.js';
import { renderUserData } from './cloud-config.js';
import { checkZone, findRecords, inspectRecord, writeRecord, type RecordType } from './dns-records.js';
import { createDroplet, findDropletByTag, inspectDroplet, publicAddress, waitUntilActive } from './droplet.js';
import { inspectSecrets, writeSecrets, type GitHubEnvironment } from './github-secrets.js';
import { convergeHost } from './host-converge.js';
import { knownHostsLine } from './host-key-rotation.js';
import { connectPinned, type HostEndpoint } from './host-session.js';
import type { HostValues } from './host-values.js';
import { generateInjectedHostKey } from './injected-host-key.js';
import { attachVolume, createVolume, findVolume, inspectVolume } from './jetstream-volume.js';
import type { ProvisionTarget } from './provision-target.js';
import { change, describeChanges, ProvisionError, type ResourceChange } from './resource-change.js';

export interface ProvisionOptions {
  readonly client: DigitalOceanClient;
  readonly logger: Logger;
  readonly target: ProvisionTarget;
  readonly plan: boolean;
  readonly ssh: { readonly privateKey: string; readonly knownHosts: readonly string[] | undefined };
  readonly values?: HostValues;
  readonly github?: { readonly environment: GitHubEnvironment; readonly hostSecret: string; readonly knownHostsSecret: string; readonly currentHost?: string; readonly currentKnownHosts?: string };
  readonly timeouts: { readonly activeMs: number; readonly actionMs: number; readonly bootMs: number; readonly pollIntervalMs?: number };
}

export interface ProvisionResult {
  readonly planned: boolean;
  readonly changes: readonly ResourceChange[];
  readonly changed: boolean;
  readonly dropletId?: number;
  readonly address?: string;
  readonly addressV6?: string;
  readonly knownHosts: readonly string[];
  readonly hostKeyFingerprint?: string;
  readonly dnsNames: readonly string[];
}

export class HostKeyUnknownError extends Error {
  override readonly name = 'HostKeyUnknownError';
  constructor(droplet: Droplet) {
    super(
      `The Droplet ${droplet.name} (id ${droplet.id}) exists, but this run was given no host key to pin it to, and it never trusts a key on first use. ` +
        'Pass the known_hosts lines the run that created it output (known-hosts: ${{ secrets.PROD_SSH_KNOWN_HOSTS }}). If those are lost, check the key on the Droplet\'s console (Control panel → Access → Console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pin that, or destroy the Droplet and provision a new one.',
    );
  }
}

export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const { client, logger, target, plan } = options;
  const changes: ResourceChange[] = [];
  const record = (c: ResourceChange) => (changes.push(c), c);
  const timing = { logger, timeoutMs: options.timeouts.actionMs, ...(options.timeouts.pollIntervalMs === undefined ? {} : { intervalMs: options.timeouts.pollIntervalMs }) };
  let phase = 'reading DigitalOcean';
  try {
    // ---------------------------------------------------------------------------- read and plan
    const inspected = await logger.group('DigitalOcean: what exists', async () => {
      expectData('GET /v2/account', await client.api.GET('/v2/account'));
      const regions = await listAll('GET /v2/regions', (page, per_page) => client.api.GET('/v2/regions', { params: { query: { page, per_page } } }), (b) => b.regions);
      const region = regions.find((r) => r.slug === target.droplet.region);
      if (region === undefined || !region.available) throw new Error(`The region ${target.droplet.region} does not exist or takes no new Droplets; available regions: ${regions.filter((r) => r.available).map((r) => r.slug).join(', ')}.`);
      const droplet = await findDropletByTag(client, target.droplet.tag);
      if (droplet === undefined && !region.sizes.includes(target.droplet.size)) {
        throw new Error(`The region ${region.slug} does not offer the size ${target.droplet.size}; it offers: ${region.sizes.join(', ')}. Pick one of those, or another region.`);
      }
      record(inspectDroplet(droplet, target.droplet));
      const volume = target.volume === undefined ? undefined : await findVolume(client, target.volume.name, target.droplet.region);
      const volumeChange = target.volume === undefined ? undefined : record(inspectVolume(volume, target.volume, target.droplet.region, droplet?.id));
      const desired = target.firewall === undefined ? undefined : desiredFirewall(target.firewall, target.droplet.tag, target.host.sshPort, target.host.sshSources);
      const firewall = desired === undefined ? undefined : await findFirewall(client, desired.name);
      const firewallChange = desired === undefined ? undefined : record(inspectFirewall(firewall, desired));
      const types: RecordType[] = target.droplet.ipv6 ? ['A', 'AAAA'] : ['A'];
      const dns = new Map<RecordType, Awaited<ReturnType<typeof findRecords>>>();
      if (target.dns !== undefined) {
        await checkZone(client, target.dns.zone);
        for (const type of types) {
          const records = await findRecords(client, target.dns, type);
          dns.set(type, records);
          record(inspectRecord(records, target.dns, type, droplet === undefined ? undefined : publicAddress(droplet, type === 'A' ? 4 : 6)));
        }
      }
      return { droplet, volume, volumeChange, desired, firewall, firewallChange, dns, types };
    });
    let droplet = inspected.droplet;
    const endpoint = (address: string): HostEndpoint => ({ address, port: target.host.sshPort, user: target.host.deployUser, privateKey: options.ssh.privateKey });
    const deadline = () => Date.now() + options.timeouts.bootMs;

    if (plan) {
      if (droplet === undefined) {
        record(change('host', target.droplet.name, 'create', ['first boot: deploy user, hardened sshd, Docker with log rotation, host firewall, /opt/titan layout, trust keys; then its host key replaced by its own']));
      } else if (options.ssh.knownHosts === undefined || options.ssh.knownHosts.length === 0) {
        record(change('host', droplet.name, 'drift', ['not inspected: no known-hosts given to pin it to']));
      } else {
        phase = 'inspecting the host';
        await logger.group('Host: what it is (read only)', async () => {
          const address = publicAddress(droplet as Droplet, 4) ?? '';
          const connection = await connectPinned(endpoint(address), options.ssh.knownHosts ?? [], logger, deadline());
          try {
            await convergeHost(connection, { spec: target.host, endpoint: endpoint(address), values: options.values, plan: true, logger, deadlineMs: deadline(), bootTimeoutMs: options.timeouts.bootMs, record });
          } finally {
            await connection.close();
          }
        });
      }
      if (options.github !== undefined) inspectSecrets(options.github.environment, secretsFor(options, droplet === undefined ? undefined : publicAddress(droplet, 4), options.ssh.knownHosts)).forEach(record);
      logger.info(['Plan (nothing was changed):', ...describeChanges(changes, true)].join('\n'));
      return result(true, changes, droplet, options.ssh.knownHosts ?? [], undefined);
    }

    // ---------------------------------------------------------------------------------- apply
    let injected: ReturnType<typeof generateInjectedHostKey> | undefined;
    await logger.group('DigitalOcean: volume and Droplet', async () => {
      let volume = inspected.volume;
      if (target.volume !== undefined && volume === undefined) {
        phase = 'creating the volume';
        volume = await createVolume(client, target.volume, target.droplet.region, target.droplet.tag, logger);
        Object.assign(inspected.volumeChange ?? {}, { applied: true, id: volume.id });
      }
      if (droplet === undefined) {
        phase = 'creating the Droplet';
        injected = generateInjectedHostKey();
        const userData = renderUserData(target.host, injected, { upgradePackages: target.droplet.upgradePackages });
        const created = await createDroplet(client, { target: target.droplet, userData, volumeIds: volume?.id === undefined ? [] : [volume.id], logger });
        const c = changes.find((x) => x.resource === 'droplet');
        Object.assign(c ?? {}, { applied: true, id: `id ${created.droplet.id}` });
        phase = `waiting for the new Droplet ${created.droplet.name} (id ${created.droplet.id}) to become active`;
        droplet = await waitUntilActive(client, created.droplet, created.actionId, { logger, timeoutMs: options.timeouts.activeMs, ...(options.timeouts.pollIntervalMs === undefined ? {} : { intervalMs: options.timeouts.pollIntervalMs }) });
        logger.info(`Droplet ${droplet.name} is active at ${publicAddress(droplet, 4) ?? '?'}`);
      } else if (volume !== undefined && inspected.volumeChange?.kind === 'change') {
        phase = `attaching the volume ${volume.name ?? ''}`;
        await attachVolume(client, volume, droplet.id, target.droplet.region, timing);
        inspected.volumeChange.applied = true;
      }
    });
    const live = droplet as Droplet;
    const address = publicAddress(live, 4);
    if (address === undefined) throw new Error(`the Droplet ${live.name} has no public IPv4 address`);
    const addressV6 = publicAddress(live, 6);

    await logger.group('DigitalOcean: firewall and DNS', async () => {
      if (inspected.desired !== undefined && inspected.firewallChange !== undefined && inspected.firewallChange.kind !== 'unchanged') {
        phase = 'writing the cloud firewall';
        inspected.firewallChange.id = await writeFirewall(client, inspected.firewall, inspected.desired);
        inspected.firewallChange.applied = true;
      }
      if (target.dns !== undefined) {
        for (const type of inspected.types) {
          const value = type === 'A' ? address : addressV6;
          const records = inspected.dns.get(type) ?? [];
          const index = changes.findIndex((c) => c.resource === `dns ${type}`);
          const now = inspectRecord(records, target.dns, type, value);
          if (index >= 0) changes[index] = now;
          if (now.kind === 'unchanged' || value === undefined) continue;
          phase = `writing the DNS ${type} record`;
          now.id = await writeRecord(client, records, target.dns, type, value);
          now.applied = true;
        }
      }
    });

    phase = `converging the host ${address}`;
    const pins = injected !== undefined ? [injected.publicKey] : options.ssh.knownHosts;
    if (pins === undefined || pins.length === 0) throw new HostKeyUnknownError(live);
    const host = await logger.group('Host: first boot, host key, trust, values', async () => {
      const connection = await connectPinned(endpoint(address), pins, logger, deadline());
      const converged = await convergeHost(connection, { spec: target.host, endpoint: endpoint(address), values: options.values, plan: false, logger, deadlineMs: deadline(), bootTimeoutMs: options.timeouts.bootMs, record });
      await converged.connection.close();
      return converged;
    });
    const knownHosts = host.publicKey !== undefined ? [knownHostsLine(address, target.host.sshPort, host.publicKey)] : [...(options.ssh.knownHosts ?? [])];

    if (options.github !== undefined) {
      phase = 'writing the GitHub environment secrets';
      const github = options.github;
      await logger.group('GitHub: environment secrets', () => writeSecrets(github.environment, secretsFor(options, address, knownHosts), record, logger));
    }
    logger.info(['Provisioned:', ...describeChanges(changes, false)].join('\n'));
    return result(false, changes, live, knownHosts, host.fingerprint);
  } catch (error) {
    throw new ProvisionError(phase, error, changes);
  }
}

function secretsFor(options: ProvisionOptions, address: string | undefined, knownHosts: readonly string[] | undefined) {
  const github = options.github;
  if (github === undefined) return [];
  return [
    { name: github.hostSecret, value: address ?? '(the new Droplet\'s address)', current: github.currentHost },
    { name: github.knownHostsSecret, value: (knownHosts ?? []).join('\n'), current: github.currentKnownHosts },
  ];
}

function result(planned: boolean, changes: ResourceChange[], droplet: Droplet | undefined, knownHosts: readonly string[], fingerprint: string | undefined): ProvisionResult {
  const address = droplet === undefined ? undefined : publicAddress(droplet, 4);
  const addressV6 = droplet === undefined ? undefined : publicAddress(droplet, 6);
  return {
    planned,
    changes,
    changed: changes.some((c) => c.applied === true && c.kind !== 'unchanged'),
    ...(droplet === undefined ? {} : { dropletId: droplet.id }),
    ...(address === undefined ? {} : { address }),
    ...(addressV6 === undefined ? {} : { addressV6 }),
    knownHosts,
    ...(fingerprint === undefined ? {} : { hostKeyFingerprint: fingerprint }),
    dnsNames: changes.filter((c) => c.resource.startsWith('dns ')).map((c) => `${c.resource.slice(4)} ${c.name}`),
  };
}
