/**
 * Verify and rollback over a list of hosts (`hosts`), run as a runner runs the actions, against 4
 * real SSH hosts on this machine (scripts/test-host/fleet-hosts), each running examples/fleet-demo
 * under its own Compose project after two rolling deploys (releases A then B): every host verified
 * with a row per host; one unhealthy host named while the others are still checked; an unreachable
 * host and a changed host key named; a rollback whose first host fails stops the fleet there; a
 * rollback of the whole fleet back to A.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActionBundle, type ActionRun } from '@titan/test-host/action-run';
import { breakTrust, closedPort, currentOf, type FleetTestHost, hostsInput, journalLines, signFleetRelease, stalePin, startFleet, stopFleet, testHost } from './support/fleet-fixture.js';

interface Row {
  name: string;
  batch: number;
  result: string;
  release?: string | null;
  releaseBefore?: string | null;
  releaseAfter?: string | null;
  failures?: string[];
  message: string | null;
}

type Host = FleetTestHost & { pin?: string };

let fleet: FleetTestHost[] = [];
let releaseA = '';
let releaseB = '';
let runs = 0;

async function run(action: string, hosts: readonly Host[], extra: Record<string, string>): Promise<ActionRun> {
  const result = await runActionBundle(action, {
    inputs: { hosts: hostsInput(hosts), 'ssh-key': readFileSync(testHost.privateKeyPath, 'utf8'), ...extra },
    // RUNNER_TEMP kept after the run: verify's report is read from it.
    env: { GITHUB_ACTOR: 'fleet-operator', RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'titan-fleet-runner-')) },
    timeoutMs: 300_000,
  });
  runs += 1;
  writeFileSync(`/tmp/titan-fleet-ops-${runs}.log`, `${result.log}\n----- summary\n${result.summary}`);
  return result;
}

async function deployAll(): Promise<string> {
  const bundle = await signFleetRelease();
  const result = await run('action-deploy', fleet, { bundle: bundle.dir, 'public-key': testHost.releasePublicKey, 'batch-size': '3', 'health-timeout': '60', 'confirm-timeout': '120' });
  if (result.status !== 0) throw new Error(`the rolling deploy failed:\n${result.log.slice(-3000)}`);
  return bundle.manifest.releaseId;
}

function rows(result: ActionRun): Row[] {
  return JSON.parse(result.outputs['hosts'] ?? '[]') as Row[];
}

function summaryRow(result: ActionRun, name: string): string {
  return result.summary.split('\n').find((l) => l.startsWith(`| ${name} |`)) ?? '';
}

const rollbackInputs = (): Record<string, string> => ({
  reason: 'fleet test: back to the last good release',
  // No NATS answers for the fleet demo: the HARD_HALT is not acknowledged and the rollback says so.
  'nats-password': randomBytes(18).toString('base64url'),
  'hmac-secret': randomBytes(32).toString('hex'),
  'halt-timeout': '2',
  'health-timeout': '60',
  'batch-size': '2',
});

function hunterOf(host: FleetTestHost): string {
  return execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${host.name}`, '--filter', 'label=com.docker.compose.service=titan-hunter'], { encoding: 'utf8' }).trim();
}

describe('verify and rollback over 4 SSH hosts', () => {
  beforeAll(async () => {
    fleet = startFleet(4);
    releaseA = await deployAll();
    releaseB = await deployAll();
  }, 600_000);
  afterAll(() => stopFleet(fleet));

  it('verify: every host checked against its own current release, a row per host, healthy', async () => {
    const result = await run('action-verify', fleet, { 'batch-size': '2', 'public-key': testHost.releasePublicKey });
    expect(result.status, result.log.slice(-2000)).toBe(0);
    expect(result.outputs['healthy']).toBe('true');
    expect(rows(result).map((r) => [r.name, r.batch, r.result, r.release])).toEqual([
      ['fleet01', 1, 'healthy', releaseB],
      ['fleet02', 2, 'healthy', releaseB],
      ['fleet03', 2, 'healthy', releaseB],
      ['fleet04', 3, 'healthy', releaseB],
    ]);
    expect(result.summary).toContain('✅ Verified: 4 of 4 hosts healthy');
    for (const host of fleet) expect(summaryRow(result, host.name), host.name).toContain('✅ healthy');
    expect(result.summary).toContain('at most 2 at once, 4 in all');
    const report = JSON.parse(readFileSync(result.outputs['report'] ?? '', 'utf8')) as { host: string; report: { healthy: boolean; releaseId: string } }[];
    expect(report.map((r) => [r.host, r.report.healthy, r.report.releaseId])).toEqual(fleet.map((h) => [h.name, true, releaseB]));
  });

  it('verify: a host with its trading service stopped fails the step, named; the hosts after it are still checked', async () => {
    const hunter = hunterOf(fleet[1] as FleetTestHost);
    expect(hunter).not.toBe('');
    execFileSync('docker', ['stop', '-t', '1', hunter], { stdio: 'ignore' });
    try {
      const result = await run('action-verify', fleet, { 'batch-size': '2', timeout: '5' });
      expect(result.status).toBe(1);
      expect(result.outputs['healthy']).toBe('false');
      expect(rows(result).map((r) => [r.name, r.result])).toEqual([
        ['fleet01', 'healthy'],
        ['fleet02', 'unhealthy'],
        ['fleet03', 'healthy'],
        ['fleet04', 'healthy'],
      ]);
      expect(rows(result)[1]?.failures).toContain('titan-hunter running');
      expect(result.log).toContain('1 of 4 hosts not verified: fleet02 (not healthy: titan-hunter running');
      expect(summaryRow(result, 'fleet02')).toContain('❌ not healthy');
      expect(result.summary).toContain('fleet02: ');
    } finally {
      execFileSync('docker', ['start', hunter], { stdio: 'ignore' });
    }
  });

  it('verify: an unreachable host and a host whose key changed are named; the others are verified', async () => {
    const [a, b] = fleet as [FleetTestHost, FleetTestHost];
    const port = closedPort();
    const ghost: Host = { ...b, name: 'ghost', port, pin: `[127.0.0.1]:${port} ${b.knownHosts.split(' ').slice(1).join(' ')}` };
    const result = await run('action-verify', [a, ghost, { ...b, pin: stalePin(b) }], { 'batch-size': '2', timeout: '30' });
    expect(result.status).toBe(1);
    expect(rows(result).map((r) => [r.name, r.result])).toEqual([
      ['fleet01', 'healthy'],
      ['ghost', 'unreachable'],
      ['fleet02', 'host-key-refused'],
    ]);
    expect(result.log).toContain(`ghost (127.0.0.1 port ${port}) cannot be reached`);
    expect(result.log).toContain(`fleet02 (127.0.0.1 port ${b.port}) presented a host key that is not pinned for it`);
    expect(summaryRow(result, 'ghost')).toContain('❌ unreachable');
    expect(summaryRow(result, 'fleet02')).toContain('⛔ host key refused');
  });

  it('rollback: the first host failing stops the fleet there; the others are not started and unchanged', async () => {
    const restore = breakTrust(fleet[0] as FleetTestHost);
    try {
      const result = await run('action-rollback', fleet, rollbackInputs());
      expect(result.status).toBe(1);
      expect(result.outputs['result']).toBe('failed');
      expect(rows(result).map((r) => [r.name, r.result])).toEqual([
        ['fleet01', 'failed'],
        ['fleet02', 'not-started'],
        ['fleet03', 'not-started'],
        ['fleet04', 'not-started'],
      ]);
      expect(result.log).toContain('The rollback failed on fleet01 (batch 1 of 3)');
      expect(result.log).toContain('Not started: fleet02, fleet03, fleet04.');
      for (const host of fleet.slice(1)) {
        expect(currentOf(host), host.name).toBe(releaseB);
        expect(journalLines(host).map((l) => l.result), host.name).toEqual(['deployed', 'deployed']);
      }
      expect(summaryRow(result, 'fleet03')).toContain('⏸️ not started');
    } finally {
      restore();
    }
  });

  it('rollback: every host back to the last good release, a row per host with its HARD_HALT said', async () => {
    const result = await run('action-rollback', fleet, rollbackInputs());
    expect(result.status, result.log.slice(-3000)).toBe(0);
    expect(result.outputs['result']).toBe('rolled-back');
    expect(result.outputs['release-id']).toBe(releaseA);
    expect(result.outputs['halt-acknowledged']).toBe('false');
    for (const row of rows(result)) expect(row, row.name).toMatchObject({ result: 'rolled-back', releaseAfter: releaseA });
    expect(rows(result).map((r) => r.batch)).toEqual([1, 2, 2, 3]);
    for (const host of fleet) {
      expect(currentOf(host), host.name).toBe(releaseA);
      expect(journalLines(host).at(-1)?.result, host.name).toBe('rolled-back');
    }
    for (const host of fleet.slice(1)) expect(summaryRow(result, host.name), host.name).toContain('NOT acknowledged');
    expect(result.summary).toContain('✅ rollback on 4 of 4 hosts');
    expect(result.log).toContain(`rollback: done on all 4 hosts; release ${releaseA} is current on each.`);
  });
});
