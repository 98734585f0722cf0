/**
 * Benchmark of a no-change rolling deploy over many hosts (packages/fleet rollingDeploy), against
 * 20 real sshds on this machine (scripts/test-host/fleet-hosts, each its own host key, user and app
 * dir, each running examples/fleet-demo under its own Compose project), in one run:
 *
 *   fleet     the same signed release deployed again to all 20 hosts, batches of 10 behind the
 *             first host: reach every host, then deployRelease on each (lock, the release verified
 *             again in place, no Compose run, full verification, confirm, journal).
 *   baseline  the same release deployed again to ONE of those hosts the single-host way (connectSsh
 *             + deployRelease, as action-deploy does without `hosts`).
 * Alternating, BENCH_REPS (default 3) each; medians compared. Target: fleet <= 2x baseline.
 *
 * Then, each in a child process of its own (a process's peak RSS never goes down): the runner's
 * peak RSS and the most SSH connections open at once for batch sizes 1, 5 and 10 over 20 hosts, and
 * batch size 5 over 10 hosts. Target: connections = batch size (linear in it, not in the host
 * count). Run as root (test host up):
 *
 *   bash bench/fleet   (on the shared machine: /work/bin/titan-dev run bash bench/fleet)
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { HostLayout } from '@titan/host/host-layout';
import { deployRelease } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/release/local-bundle';
import { rollingDeploy } from '@titan/fleet/rolling-deploy';
import type { FleetHost } from '@titan/fleet/fleet-hosts';
import { silentLogger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import { signFleetRelease, startFleet, stopFleet, testHost, type FleetTestHost } from '../packages/fleet/test/support/fleet-fixture.js';

const reps = Number(process.env.BENCH_REPS ?? 3);
const privateKey = readFileSync(testHost.privateKeyPath, 'utf8');

function fleetHosts(hosts: readonly FleetTestHost[]): FleetHost[] {
  return hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, knownHosts: [h.knownHosts], appDir: h.appDir, project: h.name }));
}

function request(bundleDir: string) {
  return readLocalBundle(bundleDir, []).then((bundle) => ({
    bundle,
    layout: new HostLayout('/unused'),
    project: 'unused',
    mode: 'DISARMED' as const,
    healthTimeoutSeconds: 60,
    confirmTimeoutSeconds: 120,
    lockTimeoutSeconds: 30,
    keepReleases: 5,
    actor: 'bench',
    runUrl: '',
  }));
}

async function fleetRun(hosts: readonly FleetTestHost[], bundleDir: string, batchSize: number) {
  const outcome = await rollingDeploy({
    hosts: fleetHosts(hosts),
    batchSize,
    onFailure: 'leave',
    credentials: { privateKey },
    deploy: await request(bundleDir),
    revert: { halt: { address: { host: '127.0.0.1', port: 4222 }, user: 'console', password: '', hmacSecret: '', timeoutSeconds: 5 }, stopTimeoutSeconds: undefined },
    logger: silentLogger,
  });
  if (outcome.result !== 'deployed') throw new Error(`rolling deploy ${outcome.result}: ${outcome.error?.message ?? ''}`);
  return outcome;
}

async function oneHost(host: FleetTestHost, bundleDir: string): Promise<void> {
  const connection = await connectSsh({ host: host.address, port: host.port, username: host.user, privateKey, hostKeys: [host.knownHosts], logger: silentLogger });
  try {
    const outcome = await deployRelease(connection, { ...(await request(bundleDir)), layout: new HostLayout(host.appDir), project: host.name, logger: silentLogger });
    if (outcome.result !== 'deployed') throw new Error(`one-host deploy ${outcome.result}: ${outcome.error?.message ?? ''}`);
  } finally {
    await connection.close();
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

if (process.argv[2] === '--child') {
  // One measurement of memory and connections: `--child BATCH HOSTS BUNDLE`.
  const [batch, count, bundleDir] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5] ?? ''];
  const hosts = (JSON.parse(readFileSync(`${testHost.stateDir}/fleet/hosts.json`, 'utf8')) as { hosts: FleetTestHost[] }).hosts.slice(0, count);
  const outcome = await fleetRun(hosts, bundleDir, batch);
  process.stdout.write(`${JSON.stringify({ peak: outcome.peakConnections, opened: outcome.connectionsOpened, rssMb: process.resourceUsage().maxRSS / 1024, ms: outcome.durationMs })}\n`);
} else {
  const fleet = startFleet(20);
  try {
    const bundle = await signFleetRelease();
    await fleetRun(fleet, bundle.dir, 10); // the release onto every host, first time
    const one: number[] = [];
    const many: number[] = [];
    for (let i = 0; i < reps; i++) {
      let t = performance.now();
      await oneHost(fleet[0] as FleetTestHost, bundle.dir);
      one.push(performance.now() - t);
      t = performance.now();
      await fleetRun(fleet, bundle.dir, 10);
      many.push(performance.now() - t);
      console.log(`rep ${i + 1}: one host ${(one[i]! / 1000).toFixed(2)} s, 20 hosts in batches of 10 ${(many[i]! / 1000).toFixed(2)} s`);
    }
    const ratio = median(many) / median(one);
    console.log(`no-change deploy: one host ${(median(one) / 1000).toFixed(2)} s, 20 hosts (batches of 10) ${(median(many) / 1000).toFixed(2)} s: ${ratio.toFixed(2)}x (target <= 2x) ${ratio <= 2 ? 'PASS' : 'FAIL'}`);
    let linear = true;
    for (const [batch, count] of [[1, 20], [5, 20], [10, 20], [5, 10]] as const) {
      const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1] ?? '', '--child', String(batch), String(count), bundle.dir], { encoding: 'utf8' });
      const m = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { peak: number; opened: number; rssMb: number; ms: number };
      if (m.peak > batch) linear = false;
      console.log(`batch ${batch}, ${count} hosts: at most ${m.peak} connections at once (${m.opened} opened), peak RSS ${m.rssMb.toFixed(0)} MB, ${(m.ms / 1000).toFixed(2)} s`);
    }
    console.log(`connections at once <= batch size: ${linear ? 'PASS' : 'FAIL'}`);
    if (ratio > 2 || !linear) process.exitCode = 1;
  } finally {
    stopFleet(fleet);
  }
}
