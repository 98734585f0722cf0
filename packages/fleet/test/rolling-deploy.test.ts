/**
 * The deploy action's rolling deploy (`hosts`) run as a runner runs it, against 20 real SSH hosts
 * on this machine (scripts/test-host/fleet-hosts: each its own sshd, host key, user and app dir,
 * each running examples/fleet-demo under its own Compose project): a deploy to all 20 in batches of
 * 10 behind the first host; a host failing in the second batch (the later hosts not started, the
 * switched ones returned to their previous release); the first host failing (no other starts); an
 * unreachable host and a host whose key changed (refused before anything changes anywhere).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import {
  breakTrust,
  closedPort,
  currentOf,
  type FleetTestHost,
  hostsInput,
  journalLines,
  signFleetRelease,
  stalePin,
  startFleet,
  stopFleet,
  testHost,
} from './support/fleet-fixture.js';

interface HostRow {
  name: string;
  batch: number;
  result: string;
  releaseBefore: string | null;
  releaseAfter: string | null;
}

let fleet: FleetTestHost[] = [];
let first = '';
let firstRun: ActionRun;

let runs = 0;
async function deploy(hosts: readonly (FleetTestHost & { pin?: string })[], bundle: string, extra: Record<string, string> = {}): Promise<ActionRun> {
  const run = await runActionBundle('action-deploy', {
    inputs: {
      hosts: hostsInput(hosts),
      'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'),
      bundle,
      'public-key': testHost.releasePublicKey,
      'health-timeout': '60',
      'confirm-timeout': '120',
      'lock-timeout': '20',
      ...extra,
    },
    env: { GITHUB_ACTOR: 'fleet-operator' },
    timeoutMs: 300_000,
  });
  // What the runner's log and the job summary showed, for whoever reads a failure.
  runs += 1;
  writeFileSync(`/tmp/titan-fleet-run-${runs}.log`, `${run.log}\n----- summary\n${run.summary}`);
  return run;
}

function rows(run: ActionRun): HostRow[] {
  return JSON.parse(run.outputs['hosts'] ?? '[]') as HostRow[];
}

/** The summary's row of a host: its cells. */
function summaryRow(run: ActionRun, name: string): string {
  return run.summary.split('\n').find((l) => l.startsWith(`| ${name} |`)) ?? '';
}

describe('a rolling deploy over 20 SSH hosts', () => {
  beforeAll(async () => {
    fleet = startFleet(20);
    const bundle = await signFleetRelease();
    const run = await deploy(fleet, bundle.dir, { 'batch-size': '10' });
    if (run.status !== 0) throw new Error(`the first rolling deploy failed (log: /tmp/titan-fleet-run-1.log):\n${run.log.slice(-3000)}`);
    first = bundle.manifest.releaseId;
    firstRun = run;
  }, 600_000);
  afterAll(() => stopFleet(fleet));

  it('deployed the first release to all 20 hosts: the first host alone, then 10 at a time; a row per host; at most 10 connections at once', () => {
    for (const host of fleet) expect(currentOf(host), host.name).toBe(first);
    for (const host of fleet) expect(journalLines(host).map((l) => l.result), host.name).toEqual(['deployed']);
    expect(firstRun.outputs['result']).toBe('deployed');
    const batches = rows(firstRun).map((r) => r.batch);
    expect([1, 2, 3].map((b) => batches.filter((x) => x === b).length)).toEqual([1, 10, 9]);
    expect(rows(firstRun).every((r) => r.result === 'deployed' && r.releaseBefore === null && r.releaseAfter === first)).toBe(true);
    for (const host of fleet) expect(summaryRow(firstRun, host.name), host.name).toContain('✅ deployed');
    expect(firstRun.summary).toContain('at most 10 at once, 40 in all');
    expect(firstRun.log).toContain('Batch 1 of 3: fleet01 first (deploys and verifies before any other host starts)');
  });

  it('a host failing in the second batch: the later hosts are not started, the switched ones return to their previous release', async () => {
    const hosts = fleet.slice(0, 7);
    const restore = breakTrust(hosts[3] as FleetTestHost);
    try {
      const bundle = await signFleetRelease();
      const next = bundle.manifest.releaseId;
      const run = await deploy(hosts, bundle.dir, { 'batch-size': '3' });
      expect(run.status).toBe(1);
      expect(run.outputs['result']).toBe('failed');
      expect(run.outputs['rolled-back']).toBe('true');
      const byName = new Map(rows(run).map((r) => [r.name, r]));
      expect([1, 2, 3, 4, 5, 6, 7].map((i) => byName.get(`fleet0${i}`)?.batch)).toEqual([1, 2, 2, 2, 3, 3, 3]);
      for (const name of ['fleet01', 'fleet02', 'fleet03']) {
        expect(byName.get(name), name).toMatchObject({ result: 'reverted', releaseBefore: first, releaseAfter: first });
        expect(summaryRow(run, name)).toContain('returned to previous');
      }
      expect(byName.get('fleet04')?.result).toBe('failed');
      for (const name of ['fleet05', 'fleet06', 'fleet07']) expect(byName.get(name)?.result, name).toBe('not-started');
      expect(run.log).toContain(`Release ${next} failed on fleet04 (batch 2 of 3)`);
      expect(run.log).toContain('Not started: fleet05, fleet06, fleet07.');
      expect(run.log).toContain('Returned to their previous release: fleet01, fleet02, fleet03.');
      for (const host of hosts) expect(currentOf(host), host.name).toBe(first);
      // The hosts after the failed batch were never touched: no journal line for the new release.
      for (const host of hosts.slice(4)) expect(journalLines(host).some((l) => l.release === next), host.name).toBe(false);
      expect(summaryRow(run, 'fleet05')).toContain('not started');
      expect(summaryRow(run, 'fleet04')).toContain('failed');
    } finally {
      restore();
    }
  });

  it('the first host failing stops everything: no other host starts', async () => {
    const hosts = fleet.slice(0, 3);
    const restore = breakTrust(hosts[0] as FleetTestHost);
    try {
      const bundle = await signFleetRelease();
      const run = await deploy(hosts, bundle.dir, { 'batch-size': '2' });
      expect(run.status).toBe(1);
      expect(rows(run).map((r) => r.result)).toEqual(['failed', 'not-started', 'not-started']);
      expect(run.log).toContain(`Release ${bundle.manifest.releaseId} failed on fleet01 (batch 1 of 2)`);
      for (const host of hosts) expect(currentOf(host), host.name).toBe(first);
      for (const host of hosts.slice(1)) expect(journalLines(host).some((l) => l.release === bundle.manifest.releaseId), host.name).toBe(false);
    } finally {
      restore();
    }
  });

  it('an unreachable host fails the deploy before any host changes, naming it', async () => {
    const [a, b] = fleet as [FleetTestHost, FleetTestHost];
    const ghost = { ...b, name: 'ghost', port: closedPort(), knownHosts: `[127.0.0.1]:${closedPort()} ${b.knownHosts.split(' ').slice(1).join(' ')}` };
    const bundle = await signFleetRelease();
    const run = await deploy([a, ghost, b], bundle.dir, { 'batch-size': '2' });
    expect(run.status).toBe(1);
    expect(rows(run).map((r) => [r.name, r.result])).toEqual([
      ['fleet01', 'not-started'],
      ['ghost', 'unreachable'],
      ['fleet02', 'not-started'],
    ]);
    expect(run.log).toContain(`ghost (127.0.0.1 port ${closedPort()}) cannot be reached`);
    expect(summaryRow(run, 'ghost')).toContain('unreachable');
    for (const host of [a, b]) expect(currentOf(host)).toBe(first);
  });

  it('a host whose key changed is refused and no host is started', async () => {
    const [a, b, c] = fleet as [FleetTestHost, FleetTestHost, FleetTestHost];
    const bundle = await signFleetRelease();
    const run = await deploy([a, { ...b, pin: stalePin(b) }, c], bundle.dir, { 'batch-size': '2' });
    expect(run.status).toBe(1);
    expect(rows(run).map((r) => r.result)).toEqual(['not-started', 'host-key-refused', 'not-started']);
    expect(run.log).toContain('fleet02 (127.0.0.1 port');
    expect(run.log).toContain('presented a host key that is not pinned for it');
    expect(summaryRow(run, 'fleet02')).toContain('host key refused');
    for (const host of [a, b, c]) {
      expect(currentOf(host)).toBe(first);
      expect(journalLines(host).some((l) => l.release === bundle.manifest.releaseId)).toBe(false);
    }
  });
});
