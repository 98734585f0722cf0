/**
 * A fleet of real SSH hosts on this machine for rolling-deploy tests and bench/fleet: each its own
 * sshd, host key, user and app dir (scripts/test-host/fleet-hosts), all sharing the test host's one
 * Docker engine, so each runs the small examples/fleet-demo stack under its own Compose project
 * (the host's name). Releases are signed as a workflow signs them, with the test host's key.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease, type SignedRelease } from '@titan/release/sign-release';
import { bringDown } from '@titan/test-host/stack-teardown';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';

const ROOT = resolve(import.meta.dirname, '../../../..');
export const FLEET_SOURCE = join(ROOT, 'examples/fleet-demo');
const SCRIPT = join(ROOT, 'scripts/test-host/fleet-hosts');

export interface FleetTestHost {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly appDir: string;
  readonly knownHosts: string;
}

export const testHost: TestHost = loadTestHost();

/** Starts `count` hosts from fleet`first` on (idempotent), each with a fresh app dir and no stack running. */
export function startFleet(count: number, first = 1): FleetTestHost[] {
  const fleetDir = join(testHost.stateDir, 'fleet');
  for (let i = first; i < first + count; i++) {
    const name = `fleet${String(i).padStart(2, '0')}`;
    bringDown(name, join(fleetDir, name, 'app'));
    rmSync(join(fleetDir, name, 'app'), { recursive: true, force: true });
  }
  const path = execFileSync('bash', [SCRIPT, 'up', String(count), String(first)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop() ?? '';
  const { hosts } = JSON.parse(readFileSync(path, 'utf8')) as { hosts: FleetTestHost[] };
  return hosts.map((h) => ({ ...h, appDir: h.appDir }));
}

/** Stops every fleet sshd and removes the hosts' stacks. */
export function stopFleet(hosts: readonly FleetTestHost[]): void {
  for (const host of hosts) bringDown(host.name, host.appDir);
  execFileSync('bash', [SCRIPT, 'down'], { stdio: 'ignore' });
}

/** The `hosts` input for these hosts (each its own app dir and Compose project). */
export function hostsInput(hosts: readonly (FleetTestHost & { pin?: string })[]): string {
  return hosts
    .map((h) => `- name: ${h.name}\n  address: ${h.address}\n  port: ${h.port}\n  user: ${h.user}\n  app-dir: ${h.appDir}\n  project: ${h.name}\n  known-hosts: |\n    ${h.pin ?? h.knownHosts}\n`)
    .join('');
}

/** A signed fleet-demo bundle with a fresh release id. */
export async function signFleetRelease(): Promise<SignedRelease> {
  const digest = (service: string): string => {
    const ref = testHost.images[service];
    if (ref === undefined) throw new Error(`the test host pushed no image for ${service}`);
    return ref.slice(ref.indexOf('@') + 1);
  };
  // The demo has no migrations; git keeps no empty folder, so the copy signed gets its empty migrations/.
  // Its build contexts are the production example's (../titan): linked beside the copy.
  const parent = mkdtempSync(join(tmpdir(), 'titan-fleet-source-'));
  const source = join(parent, 'fleet-demo');
  cpSync(FLEET_SOURCE, source, { recursive: true });
  symlinkSync(join(ROOT, 'examples/titan'), join(parent, 'titan'));
  mkdirSync(join(source, 'migrations'), { recursive: true });
  return signRelease(
    {
      source,
      selection: { digests: new Map([['titan-hunter', digest('titan-hunter')], ['prometheus', digest('prometheus')]]) },
      signingKey: parseReleaseKey(readReleaseKey(testHost)),
      git: { sha: randomBytes(20).toString('hex'), ref: 'refs/heads/main' },
      runUrl: 'https://github.com/titan/titan/actions/runs/1',
      output: mkdtempSync(join(tmpdir(), 'titan-fleet-bundle-')),
    },
    silentLogger,
  );
}

/** The release `current` points at on the host (undefined: none). */
export function currentOf(host: FleetTestHost): string | undefined {
  const link = join(host.appDir, 'current');
  return existsSync(link) ? readlinkSync(link).split('/').pop() : undefined;
}

export function journalLines(host: FleetTestHost): { action: string; result: string; release?: string }[] {
  const text = readFileSync(join(host.appDir, 'journal.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { action: string; result: string; release?: string });
}

/** The host stops trusting the release key: its trust/ file holds another Ed25519 public key. */
export function breakTrust(host: FleetTestHost): () => void {
  const trust = join(host.appDir, 'trust');
  const file = join(trust, readdirSync(trust).find((f) => f.endsWith('.pem')) ?? '');
  const original = readFileSync(file);
  const other = execFileSync('sh', ['-c', 'openssl genpkey -algorithm ed25519 | openssl pkey -pubout'], { encoding: 'utf8' });
  writeFileSync(file, other);
  return () => writeFileSync(file, original);
}

/** A known_hosts line with a key the host does not have (its key "changed"). */
export function stalePin(host: FleetTestHost): string {
  const dir = mkdtempSync(join(tmpdir(), 'titan-fleet-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
  const key = readFileSync(join(dir, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  rmSync(dir, { recursive: true, force: true });
  return `[${host.address}]:${host.port} ${key}`;
}

export interface BastionTestHost {
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly knownHosts: string;
  /** The bastion user's own client key (the deploy key is not authorised there). */
  readonly privateKeyPath: string;
  readonly log: string;
}

/** Starts the bastion sshd (idempotent): scripts/test-host/fleet-hosts bastion. */
export function startBastion(): BastionTestHost {
  const path = execFileSync('bash', [SCRIPT, 'bastion'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop() ?? '';
  return JSON.parse(readFileSync(path, 'utf8')) as BastionTestHost;
}

/** Only the bastion reaches these hosts' sshds (an iptables fence on their loopback ports); undo with unfence(). */
export function fence(hosts: readonly FleetTestHost[]): void {
  execFileSync('bash', [SCRIPT, 'fence', ...hosts.map((h) => String(h.port))], { stdio: 'ignore' });
}

export function unfence(): void {
  execFileSync('bash', [SCRIPT, 'unfence'], { stdio: 'ignore' });
}

/** The "Accepted publickey" lines of an sshd log so far: one per authenticated connection. */
export function acceptedLogins(logFile: string): number {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('Accepted publickey for ')).length : 0;
}

/** A loopback port nothing listens on. */
export function closedPort(): number {
  return 2399;
}
