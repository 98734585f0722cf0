/**
 * action-provision's bad input and faults, each injected for real: the bundled action against the
 * spec-validated DigitalOcean API double (a refused token, a region without the size, an action
 * that errors, a Droplet that never becomes active, a tag on two Droplets, an existing Droplet with
 * no pinned key, values the gatekeeper refuses), and a host presenting a key other than the
 * injected one (the test host's own sshd, standing where the new Droplet should be). Each run must
 * fail with an error that names what is wrong and what to do, report what it had created, and
 * show no secret.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { createDigitalOceanClient, expectData } from '@titan/digitalocean/client';
import { silentLogger } from '@titan/log/logger';
import { REPOSITORY_ROOT, runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { loadTestHost } from '@titan/test-host/test-host';

const testHost = loadTestHost();
const ACTION = 'action-provision';
const TOKEN = `dop_v1_${randomBytes(32).toString('hex')}`;
const keys = mkdtempSync(join(tmpdir(), 'titan-provision-faults-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@faults', '-f', join(keys, 'deploy')]);
const deployKey = readFileSync(join(keys, 'deploy'), 'utf8');
let double: DigitalOceanApiDouble;

function inputs(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    token: TOKEN,
    name,
    region: 'nyc3',
    size: 's-2vcpu-4gb',
    'deploy-public-key': readFileSync(join(keys, 'deploy.pub'), 'utf8').trim(),
    'ssh-key': deployKey,
    'ssh-allowed-sources': '203.0.113.0/24',
    'release-public-keys': testHost.releasePublicKey,
    'api-url': double.url,
    source: join(REPOSITORY_ROOT, 'examples/titan'),
    'poll-interval': '0',
    'active-timeout': '5',
    'boot-timeout': '10',
    ...extra,
  };
}

const visible = (text: string) => text.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');

function expectNoSecret(run: ActionRun): void {
  const shown = `${visible(run.log)}\n${run.summary}\n${run.outputText}`;
  expect(shown).not.toContain(TOKEN);
  expect(shown).not.toContain('PRIVATE KEY');
}

async function dropletWithTag(name: string, tag: string): Promise<number> {
  const client = createDigitalOceanClient({ token: TOKEN, logger: silentLogger, baseUrl: double.url });
  const body = expectData('POST', await client.api.POST('/v2/droplets', { body: { name, region: 'nyc3', size: 's-2vcpu-4gb', image: 'debian-13-x64', tags: [tag] } }));
  if (!('droplet' in body)) throw new Error('expected one Droplet');
  const action = body.links.actions?.[0]?.id ?? 0;
  expectData('GET action', await client.api.GET('/v2/actions/{action_id}', { params: { path: { action_id: action } } }));
  return body.droplet.id;
}

beforeAll(async () => {
  double = await DigitalOceanApiDouble.start({ token: TOKEN, domains: ['example.com'], dropletAddress: () => '127.0.0.1' });
});
afterAll(async () => {
  await double?.close();
});
afterEach(() => {
  double.assertValid();
  double.resetCalls();
});

describe('plan mode from nothing', () => {
  it('prints everything it would create and writes nothing', async () => {
    const run = await runActionBundle(ACTION, { inputs: inputs('plan-only', { plan: 'true', domain: 'plan.example.com' }) });
    expect(run.status).toBe(0);
    expect(double.writes()).toEqual([]);
    const plan = JSON.parse(run.outputs['plan'] ?? '[]') as { resource: string; state: string }[];
    expect(plan.map((c) => `${c.resource}: ${c.state}`)).toEqual(['droplet: create', 'volume: create', 'firewall: create', 'dns A: create', 'host: create']);
    expect(run.stdout).toContain('Plan (nothing was changed):');
    expect(run.stdout).toContain('droplet plan-only: will be created');
    expect(run.stdout).toContain('s-2vcpu-4gb in nyc3, image debian-13-x64, tag plan-only');
    expect(run.summary).toContain('📋 Plan for plan-only (nothing was changed)');
    expect(run.outputs['changed']).toBe('false');
    expectNoSecret(run);
  });
});

describe('bad input and faults', () => {
  it('a refused token (401): names the token, creates nothing', async () => {
    const run = await runActionBundle(ACTION, { inputs: { ...inputs('bad-token'), token: `dop_v1_${'0'.repeat(64)}` } });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/::error::reading DigitalOcean: GET \/v2\/account failed: DigitalOcean answered 401 Unauthorized: Unable to authenticate you.*The token was refused: check that the DigitalOcean token secret is set, not expired or revoked, and has read and write scopes\. Nothing had been created or changed by this run\./);
    expect(double.writes()).toEqual([]);
    expect(run.summary).toContain('❌ bad-token not provisioned');
    expect(visible(run.log)).not.toContain('0'.repeat(64));
    expectNoSecret(run);
  });

  it('a region without the size: names what the region offers, creates nothing', async () => {
    const run = await runActionBundle(ACTION, { inputs: inputs('no-size', { region: 'sgp1', size: 's-4vcpu-8gb' }) });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('The region sgp1 does not offer the size s-4vcpu-8gb; it offers: s-1vcpu-2gb. Pick one of those, or another region.');
    expect(double.writes()).toEqual([]);
  });

  it('an action that errors: names the action, and reports the volume and Droplet it had created', async () => {
    double.world.failingActions.add('create');
    try {
      const run = await runActionBundle(ACTION, { inputs: inputs('action-errors') });
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/::error::waiting for the new Droplet action-errors \(id \d+\) to become active: DigitalOcean action \d+ \(create of droplet \d+\) for creating Droplet action-errors ended "errored"/);
      expect(run.stdout).toMatch(/Already done by this run, and left in place \(the next run converges from it\): droplet action-errors \(id \d+\) created; volume action-errors-jetstream \([0-9a-f-]{36}\) created\./);
      expect(run.summary).toMatch(/\| 🆕 \| droplet \| action-errors \| created \(id \d+\) \|/);
      expect(double.writes().map((w) => w.operationId)).toEqual(['volumes_create', 'droplets_create']);
      expectNoSecret(run);
    } finally {
      double.world.failingActions.clear();
    }
  });

  it('a Droplet that never becomes active: gives up at active-timeout, reports it as created and left', async () => {
    double.world.dropletsNeverActive = true;
    try {
      const run = await runActionBundle(ACTION, { inputs: inputs('never-active', { 'active-timeout': '2', 'volume-size': '0' }) });
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/::error::waiting for the new Droplet never-active \(id \d+\) to become active: DigitalOcean action \d+ \(creating Droplet never-active\) did not finish within 2 s \(last state: in-progress\)\. Nothing was undone: run again to converge/);
      expect(run.stdout).toMatch(/droplet never-active \(id \d+\) created/);
      expect(double.writes().map((w) => w.operationId)).toEqual(['droplets_create']);
    } finally {
      double.world.dropletsNeverActive = false;
    }
  });

  it('a tag on two Droplets: names both, changes nothing', async () => {
    const a = await dropletWithTag('twin-a', 'twins');
    const b = await dropletWithTag('twin-b', 'twins');
    double.resetCalls();
    const run = await runActionBundle(ACTION, { inputs: inputs('twin-a', { tag: 'twins' }) });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`The tag twins is on 2 Droplets (twin-a id ${a}, twin-b id ${b}); a provisioning tag must name exactly one host.`);
    expect(run.stdout).toContain('Remove the tag from every Droplet that is not this host');
    expect(double.writes()).toEqual([]);
  });

  it('an existing Droplet without a pinned key: never trusts on first use, says where the key comes from', async () => {
    await dropletWithTag('unpinned', 'unpinned');
    double.resetCalls();
    const run = await runActionBundle(ACTION, { inputs: inputs('unpinned', { 'volume-size': '0', firewall: 'false' }) });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/The Droplet unpinned \(id \d+\) exists, but this run was given no host key to pin it to, and it never trusts a key on first use\. Pass the known_hosts lines/);
    expect(double.writes()).toEqual([]);
  });

  it('values the gatekeeper refuses: names the variable, calls nothing', async () => {
    const run = await runActionBundle(ACTION, { inputs: inputs('bad-values', { values: 'HMAC_SECRET=__CHANGE_ME__\nPOSTGRES_PASSWORD=supersecretkey_staging_only\n', required: 'HMAC_SECRET\nPOSTGRES_PASSWORD' }) });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::Configuration error: Input values: The production values fail the gatekeeper');
    expect(run.stdout).toMatch(/input:values:1: HMAC_SECRET is still a placeholder/);
    expect(run.stdout).toMatch(/input:values:2: POSTGRES_PASSWORD is a known development default/);
    expect(visible(run.log)).not.toContain('supersecretkey_staging_only');
    expect(double.calls).toEqual([]);
  });

  it('a host presenting another key than the injected one (a man in the middle): refused before anything is sent', async () => {
    const logBefore = readFileSync(testHost.sshdLog, 'utf8').length;
    const run = await runActionBundle(ACTION, { inputs: inputs('intercepted', { 'ssh-port': String(testHost.port), 'volume-size': '0', firewall: 'false' }) });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/::error::converging the host 127\.0\.0\.1: .*127\.0\.0\.1.*2222.*ssh-ed25519/);
    expect(run.stdout).toContain(testHost.hostKeyFingerprint);
    expect(run.stdout).toMatch(/droplet intercepted \(id \d+\) created/);
    // The test host's sshd saw a connection end in the key exchange: no authentication was tried.
    const sshdLog = readFileSync(testHost.sshdLog, 'utf8').slice(logBefore);
    expect(sshdLog).not.toMatch(/Accepted publickey|Failed publickey|Postponed publickey|userauth/);
    expectNoSecret(run);
  });
});
