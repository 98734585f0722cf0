/**
 * Hosts behind a bastion (`jump-host`), run as a runner runs the deploy action, against real sshds
 * on this machine: the bastion is its own sshd (scripts/test-host/fleet-hosts bastion: its own host
 * key, its own user whose only authorised key is its own, TCP forwarding, no shell), and the target
 * hosts fleet21-fleet23 are fenced so that only the bastion reaches them (an iptables rule rejects
 * every other local process's connection to their ports; the bastion's forwarding runs as its own
 * user). Each connection to the bastion is one "Accepted publickey" line in its sshd's log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import {
  acceptedLogins,
  type BastionTestHost,
  closedPort,
  currentOf,
  fence,
  type FleetTestHost,
  hostsInput,
  journalLines,
  signFleetRelease,
  stalePin,
  startBastion,
  startFleet,
  stopFleet,
  testHost,
  unfence,
} from './support/fleet-fixture.js';

let bastion: BastionTestHost;
let hosts: FleetTestHost[] = [];

let runs = 0;
async function deploy(inputs: Record<string, string>, bundle: string): Promise<ActionRun> {
  const run = await runActionBundle('action-deploy', {
    inputs: {
      'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'),
      bundle,
      'public-key': testHost.releasePublicKey,
      'health-timeout': '60',
      'confirm-timeout': '120',
      'lock-timeout': '20',
      ...inputs,
    },
    env: { GITHUB_ACTOR: 'jump-operator' },
    timeoutMs: 300_000,
  });
  runs += 1;
  writeFileSync(`/tmp/titan-jump-run-${runs}.log`, `${run.log}\n----- summary\n${run.summary}`);
  return run;
}

function jumpInputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'jump-host': `${bastion.user}@${bastion.address}:${bastion.port}`,
    'jump-ssh-key': readFileSync(bastion.privateKeyPath, 'utf8'),
    'jump-known-hosts': bastion.knownHosts,
    ...overrides,
  };
}

function singleHost(host: FleetTestHost): Record<string, string> {
  return { host: host.address, port: String(host.port), user: host.user, 'known-hosts': host.knownHosts, 'app-dir': host.appDir, project: host.name };
}

const sshdLog = (host: FleetTestHost): string => join(dirname(host.appDir), 'sshd.log');

/** Whether a direct TCP connection from this process to the port is accepted. */
function directlyReachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('hosts behind a bastion (jump-host)', () => {
  beforeAll(() => {
    hosts = startFleet(3, 21);
    bastion = startBastion();
    fence(hosts);
  }, 300_000);
  afterAll(() => {
    unfence();
    stopFleet(hosts);
  });

  it('the fenced hosts answer only through the bastion', async () => {
    for (const host of hosts) expect(await directlyReachable(host.port), host.name).toBe(false);
    expect(await directlyReachable(bastion.port)).toBe(true);
  });

  it('a deploy to one host through the bastion succeeds, over one bastion connection, with the bastion\'s own key', async () => {
    const host = hosts[0] as FleetTestHost;
    const bundle = await signFleetRelease();
    const before = acceptedLogins(bastion.log);
    const run = await deploy({ ...singleHost(host), ...jumpInputs() }, bundle.dir);
    expect(run.status, run.log.slice(-3000)).toBe(0);
    expect(run.outputs['result']).toBe('deployed');
    expect(currentOf(host)).toBe(bundle.manifest.releaseId);
    expect(journalLines(host).map((l) => l.result)).toEqual(['deployed']);
    expect(run.log).toContain(`Connected to ${host.user}@127.0.0.1 port ${host.port} through the bastion 127.0.0.1 port ${bastion.port}; host key ssh-ed25519`);
    expect(acceptedLogins(bastion.log) - before).toBe(1);
  });

  it('a rolling deploy of three hosts through one bastion opens exactly ONE connection to it', async () => {
    const bundle = await signFleetRelease();
    const before = acceptedLogins(bastion.log);
    const targetsBefore = hosts.map((h) => acceptedLogins(sshdLog(h)));
    const run = await deploy({ hosts: hostsInput(hosts), 'batch-size': '2', ...jumpInputs() }, bundle.dir);
    expect(run.status, run.log.slice(-3000)).toBe(0);
    expect(run.outputs['result']).toBe('deployed');
    for (const host of hosts) expect(currentOf(host), host.name).toBe(bundle.manifest.releaseId);
    // Each host was reached and then deployed over its own connection (2 logins on each target) ...
    hosts.forEach((h, i) => expect(acceptedLogins(sshdLog(h)) - (targetsBefore[i] ?? 0), h.name).toBe(2));
    // ... all six through one and the same connection to the bastion.
    expect(acceptedLogins(bastion.log) - before).toBe(1);
    expect(run.summary).toContain('6 in all, through 1 connection(s) to the bastion');
  });

  it('verify and rollback over the hosts behind the bastion: one bastion connection each, a row per host', async () => {
    // A second release on every host, so that each has one to return to.
    const next = await signFleetRelease();
    const rolled = await deploy({ hosts: hostsInput(hosts), 'batch-size': '2', ...jumpInputs() }, next.dir);
    expect(rolled.status, rolled.log.slice(-3000)).toBe(0);
    const key = readFileSync(testHost.privateKeyPath, 'utf8');
    const before = acceptedLogins(bastion.log);
    const verify = await runActionBundle('action-verify', { inputs: { hosts: hostsInput(hosts), 'ssh-key': key, 'batch-size': '2', ...jumpInputs() }, timeoutMs: 300_000 });
    expect(verify.status, verify.log.slice(-3000)).toBe(0);
    expect(verify.outputs['healthy']).toBe('true');
    expect((JSON.parse(verify.outputs['hosts'] ?? '[]') as { result: string }[]).map((r) => r.result)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(acceptedLogins(bastion.log) - before).toBe(1);
    for (const host of hosts) expect(currentOf(host), host.name).toBe(next.manifest.releaseId);
    const rollback = await runActionBundle('action-rollback', {
      inputs: {
        hosts: hostsInput(hosts),
        'ssh-key': key,
        'batch-size': '2',
        reason: 'back through the bastion',
        'nats-password': 'no-nats-behind-this-bastion',
        'hmac-secret': 'no-nats-behind-this-bastion',
        'halt-timeout': '2',
        'health-timeout': '60',
        ...jumpInputs(),
      },
      env: { GITHUB_ACTOR: 'jump-operator' },
      timeoutMs: 300_000,
    });
    expect(rollback.status, rollback.log.slice(-3000)).toBe(0);
    expect(rollback.outputs['result']).toBe('rolled-back');
    for (const host of hosts) expect(currentOf(host), host.name).not.toBe(next.manifest.releaseId);
    for (const host of hosts) expect(journalLines(host).at(-1)?.result, host.name).toBe('rolled-back');
    expect(acceptedLogins(bastion.log) - before).toBe(2);
  });

  it('a bastion presenting a key that is not pinned is refused, naming the bastion; nothing is deployed', async () => {
    const bundle = await signFleetRelease();
    const currents = hosts.map(currentOf);
    const journals = hosts.map((h) => journalLines(h).length);
    const before = acceptedLogins(bastion.log);
    const targetsBefore = hosts.map((h) => acceptedLogins(sshdLog(h)));
    const stale = stalePin({ ...(hosts[0] as FleetTestHost), port: bastion.port });

    const single = await deploy({ ...singleHost(hosts[0] as FleetTestHost), ...jumpInputs({ 'jump-known-hosts': stale }) }, bundle.dir);
    expect(single.status).toBe(1);
    expect(single.log).toContain(`The bastion (jump-host) 127.0.0.1 port ${bastion.port} failed: Host key refused for 127.0.0.1 port ${bastion.port}: the server presented ssh-ed25519 key SHA256:`);
    expect(single.log).toContain('Nothing was sent; no authentication was attempted.');

    const fleet = await deploy({ hosts: hostsInput(hosts), 'batch-size': '2', ...jumpInputs({ 'jump-known-hosts': stale }) }, bundle.dir);
    expect(fleet.status).toBe(1);
    expect(fleet.log).toContain(`was deployed to no host: no host was reached. The bastion (jump-host) 127.0.0.1 port ${bastion.port} failed: Host key refused`);
    expect((JSON.parse(fleet.outputs['hosts'] ?? '[]') as { result: string }[]).map((r) => r.result)).toEqual(['not-started', 'not-started', 'not-started']);

    // Refused during key exchange: no login on the bastion, no connection to any host, nothing changed.
    expect(acceptedLogins(bastion.log) - before).toBe(0);
    hosts.forEach((h, i) => {
      expect(acceptedLogins(sshdLog(h)) - (targetsBefore[i] ?? 0), h.name).toBe(0);
      expect(currentOf(h), h.name).toBe(currents[i]);
      expect(journalLines(h).length, h.name).toBe(journals[i]);
    });
  });

  it('a host behind the bastion presenting a key that is not pinned is refused, naming the host (the bastion hop succeeded); nothing is deployed', async () => {
    const host = hosts[0] as FleetTestHost;
    const bundle = await signFleetRelease();
    const current = currentOf(host);
    const journal = journalLines(host).length;
    const before = acceptedLogins(bastion.log);
    const hostBefore = acceptedLogins(sshdLog(host));
    const run = await deploy({ ...singleHost(host), 'known-hosts': stalePin(host), ...jumpInputs() }, bundle.dir);
    expect(run.status).toBe(1);
    expect(run.log).toContain(`::error::Host key refused for 127.0.0.1 port ${host.port}: the server presented ssh-ed25519 key SHA256:`);
    expect(run.log).not.toContain('The bastion (jump-host) 127.0.0.1');
    expect(acceptedLogins(bastion.log) - before).toBe(1);
    expect(acceptedLogins(sshdLog(host)) - hostBefore).toBe(0);
    expect(currentOf(host)).toBe(current);
    expect(journalLines(host).length).toBe(journal);
  });

  it('an unreachable bastion is named; nothing is deployed', async () => {
    const bundle = await signFleetRelease();
    const currents = hosts.map(currentOf);
    const pin = `[127.0.0.1]:${closedPort()} ${bastion.knownHosts.split(' ').slice(1).join(' ')}`;
    const run = await deploy({ ...singleHost(hosts[0] as FleetTestHost), ...jumpInputs({ 'jump-host': `${bastion.user}@127.0.0.1:${closedPort()}`, 'jump-known-hosts': pin }) }, bundle.dir);
    expect(run.status).toBe(1);
    expect(run.log).toContain(`The bastion (jump-host) 127.0.0.1 port ${closedPort()} failed: Could not connect to 127.0.0.1 port ${closedPort()} after 4 attempts: ECONNREFUSED`);
    hosts.forEach((h, i) => expect(currentOf(h), h.name).toBe(currents[i]));
  });

  it('a host the bastion cannot reach: the forward it refused names the bastion and the host; no host changes', async () => {
    const bundle = await signFleetRelease();
    const currents = hosts.map(currentOf);
    const [a, b] = hosts as [FleetTestHost, FleetTestHost];
    const ghost = { ...b, name: 'ghost', port: closedPort(), knownHosts: `[127.0.0.1]:${closedPort()} ${b.knownHosts.split(' ').slice(1).join(' ')}` };
    const before = acceptedLogins(bastion.log);
    const run = await deploy({ hosts: hostsInput([a, ghost]), ...jumpInputs() }, bundle.dir);
    expect(run.status).toBe(1);
    expect((JSON.parse(run.outputs['hosts'] ?? '[]') as { name: string; result: string }[]).map((r) => [r.name, r.result])).toEqual([
      [a.name, 'not-started'],
      ['ghost', 'unreachable'],
    ]);
    expect(run.log).toContain(`ghost (127.0.0.1 port ${closedPort()}) cannot be reached`);
    expect(run.log).toContain(`The bastion (jump-host) 127.0.0.1 port ${bastion.port} refused the forward to 127.0.0.1 port ${closedPort()}`);
    expect(acceptedLogins(bastion.log) - before).toBe(1);
    hosts.forEach((h, i) => expect(currentOf(h), h.name).toBe(currents[i]));
  });
});
