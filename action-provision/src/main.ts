import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { JobSummary } from '@titan/action-kit/job-summary';
import { createDigitalOceanClient, type DigitalOceanClient } from '@titan/digitalocean/client';
import type { Logger } from '@titan/log/logger';
import { provision, type ProvisionResult } from '@titan/provision/provision';
import { kindLabel, ProvisionError, type ResourceChange } from '@titan/provision/resource-change';
import { readSettings, type ProvisionSettings } from './settings.js';

const STATE_ICON: Record<ResourceChange['kind'], string> = { create: '🆕', change: '✏️', unchanged: '✅', drift: '⚠️' };

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = await readSettings();
  for (const warning of [...settings.warnings, ...settings.valueWarnings]) logger.warning(warning);
  const summary = new JobSummary();
  const client = createDigitalOceanClient({ token: settings.token, logger, baseUrl: settings.apiUrl, userAgent: 'titan-actions/action-provision' });
  let result: ProvisionResult | undefined;
  try {
    result = await provision({
      client,
      logger,
      target: settings.target,
      plan: settings.plan,
      ssh: { privateKey: settings.sshKey, knownHosts: settings.knownHosts },
      ...(settings.values === undefined ? {} : { values: settings.values }),
      ...(settings.github === undefined ? {} : { github: settings.github }),
      timeouts: settings.timeouts,
    });
    writeOutputs(result);
    renderSummary(summary, settings, result.changes, result.planned, client, result);
    const changed = result.changes.filter((c) => c.kind !== 'unchanged').length;
    if (result.planned) logger.info(changed === 0 ? 'Plan: everything is as wanted; a run would change nothing.' : `Plan: ${changed} resource(s) would be created or changed, or drift; nothing was changed.`);
    else logger.info(result.changed ? `Provisioned ${settings.target.droplet.name}: ${result.changes.filter((c) => c.applied === true).length} change(s) made.` : `${settings.target.droplet.name} is as wanted: nothing was changed.`);
  } catch (error: unknown) {
    const done = error instanceof ProvisionError ? error.done : [];
    summary.heading(`❌ ${settings.target.droplet.name} not provisioned`).text(error instanceof Error ? error.message : String(error));
    if (done.length > 0) changesTable(summary, done, settings.plan);
    apiFacts(summary, client);
    core.setOutput('changed', String(done.some((c) => c.applied === true)));
    throw error;
  } finally {
    await summary.write();
  }
}

function writeOutputs(result: ProvisionResult): void {
  if (result.dropletId !== undefined) core.setOutput('droplet-id', String(result.dropletId));
  core.setOutput('address', result.address ?? '');
  core.setOutput('address-v6', result.addressV6 ?? '');
  core.setOutput('known-hosts', result.knownHosts.join('\n'));
  core.setOutput('host-key-fingerprint', result.hostKeyFingerprint ?? '');
  core.setOutput('changed', String(result.changed));
  core.setOutput('plan', JSON.stringify(result.changes.map((c) => ({ resource: c.resource, name: c.name, state: c.kind, applied: c.applied === true, id: c.id ?? null, details: c.details }))));
}

function renderSummary(summary: JobSummary, settings: ProvisionSettings, changes: readonly ResourceChange[], planned: boolean, client: DigitalOceanClient, result: ProvisionResult): void {
  const name = settings.target.droplet.name;
  const changed = changes.some((c) => c.kind !== 'unchanged');
  summary.heading(planned ? `📋 Plan for ${name} (nothing was changed)` : result.changed ? `✅ ${name} provisioned` : `✅ ${name} is as wanted: nothing changed`);
  const facts: [string, string][] = [
    ['Droplet', result.dropletId === undefined ? `${name} (to be created)` : `${name} (id ${result.dropletId}), tag ${settings.target.droplet.tag}`],
    ['Region / size / image', `${settings.target.droplet.region} / ${settings.target.droplet.size} / ${settings.target.droplet.image}`],
    ['Address', [result.address, result.addressV6].filter((a) => a !== undefined).join(', ') || '(once created)'],
  ];
  if (result.hostKeyFingerprint !== undefined) facts.push(['Host key', `${result.hostKeyFingerprint} (ssh-ed25519, the host's own; pinned from first boot)`]);
  if (result.dnsNames.length > 0) facts.push(['DNS', result.dnsNames.join(', ')]);
  summary.facts(facts);
  if (planned && !changed) summary.text('Everything is as wanted: applying would change nothing.');
  changesTable(summary, changes, planned);
  if (result.knownHosts.length > 0) summary.details('known_hosts (store as the environment secret the deploy pins)', result.knownHosts.join('\n'));
  apiFacts(summary, client);
}

function changesTable(summary: JobSummary, changes: readonly ResourceChange[], planned: boolean): void {
  summary.table(
    ['', 'resource', 'name', 'state', 'details'],
    changes.map((c) => [STATE_ICON[c.kind], c.resource, c.name, `${kindLabel(c.kind, planned && c.applied !== true)}${c.id === undefined ? '' : ` (${c.id})`}`, c.details.join('; ')]),
  );
}

function apiFacts(summary: JobSummary, client: DigitalOceanClient): void {
  const s = client.transport.stats;
  summary.text(`DigitalOcean API: ${s.requests} request(s), ${s.writes} write(s), ${s.retries} retried, ${s.rateLimitWaits} rate-limit wait(s)${s.lastRateLimit === undefined ? '' : `; ${s.lastRateLimit.remaining} of ${s.lastRateLimit.limit} left this hour`}.`);
}
