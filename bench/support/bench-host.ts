/**
 * What the benchmarks (bench/ssh.ts, bench/deploy.ts, bench/rollback.ts) share about the test host
 * (scripts/test-host/up): OpenSSH's options for it, our SSH connection to it, an application folder
 * laid out as provisioning does, a compose project's containers (listed, taken down), the SSH
 * connections its sshd accepted, one deploy of a bundle onto it, and the timing figures (medians,
 * phases) the benchmarks print.
 *
 * Erasable TypeScript only: Node runs it with type stripping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployRelease, type DeployOutcome } from '@titan/deploy/deploy';
import { readLocalBundle } from '@titan/release/local-bundle';
import type { PhaseRecord } from '@titan/phases/phase-clock';
import type { HostLayout } from '@titan/host/host-layout';
import { silentLogger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import type { TestHost } from '@titan/test-host/test-host';
import { copySharedValues } from '@titan/test-host/shared-values';

// --- SSH -----------------------------------------------------------------------------------------------

/** OpenSSH's options for the test host (`ssh`, `scp`): its key only, its known_hosts, strict, no prompts. */
export function openSshArgs(host: TestHost): string[] {
  return [
    '-F', '/dev/null',
    '-i', host.privateKeyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${host.knownHostsPath}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
  ];
}

/** `user@host` for OpenSSH. */
export function sshTarget(host: TestHost): string {
  return `${host.user}@${host.host}`;
}

/** Opens our SSH connections to the test host (the private key read once, here). */
export function sshConnector(host: TestHost): () => Promise<SshConnection> {
  const privateKey = readFileSync(host.privateKeyPath, 'utf8');
  return () => connectSsh({ host: host.host, port: host.port, username: host.user, privateKey, hostKeys: [host.knownHosts], logger: silentLogger });
}

/** How many SSH connections the test host's sshd has accepted so far ("Accepted publickey" in its log). */
export function acceptedConnections(host: TestHost): number {
  return (readFileSync(host.sshdLog, 'utf8').match(/Accepted publickey/g) ?? []).length;
}

// --- the application folder and the compose project ------------------------------------------------

/** The application folder as provisioning lays it out (trust/, shared/.env.prod 0600, releases/), fresh. */
export function prepareAppDir(host: TestHost, appDir: string): void {
  rmSync(appDir, { recursive: true, force: true });
  const uid = Number(execFileSync('id', ['-u', host.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', host.user], { encoding: 'utf8' }).trim());
  mkdirSync(join(appDir, 'releases'), { recursive: true });
  mkdirSync(join(appDir, 'shared'));
  mkdirSync(join(appDir, 'trust'));
  copySharedValues(host, appDir);
  cpSync(host.releasePublicKeyPem, join(appDir, 'trust', `${host.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '');
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'journal.jsonl')]) chownSync(path, uid, gid);
  execFileSync('chmod', ['0600', join(appDir, 'shared', '.env.prod')]);
  execFileSync('chmod', ['0700', join(appDir, 'shared')]);
}

/** Removes a compose project's containers, volumes and networks. */
export function bringDownProject(project: string): void {
  const run = (args: string[]): string[] => execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  const ids = run(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]);
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', '-v', ...ids], { stdio: 'ignore' });
  const volumes = run(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  if (volumes.length > 0) execFileSync('docker', ['volume', 'rm', '-f', ...volumes], { stdio: 'ignore' });
  const networks = run(['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  // A network Docker still thinks has endpoints (left by a container that failed to start) stays; compose reuses it.
  if (networks.length > 0) spawnSync('docker', ['network', 'rm', ...networks], { stdio: 'ignore' });
}

/** The full ids of a compose project's containers, sorted, comma-separated: unchanged when nothing was recreated. */
export function containerIds(project: string): string {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort()
    .join(',');
}

// --- releases --------------------------------------------------------------------------------------------

/** The test host's images as signRelease selects them: service -> digest. */
export function imageDigests(host: TestHost): Map<string, string> {
  return new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)]));
}

/** One deploy (deployRelease, DISARMED, full verification) of a signed bundle folder over `connection`. */
export async function deployBundle(connection: SshConnection, bundleDir: string, layout: HostLayout, project: string): Promise<DeployOutcome> {
  return deployRelease(connection, {
    bundle: await readLocalBundle(bundleDir, []),
    layout,
    project,
    mode: 'DISARMED',
    healthTimeoutSeconds: 120,
    confirmTimeoutSeconds: 300,
    lockTimeoutSeconds: 60,
    keepReleases: 5,
    actor: 'bench',
    runUrl: '',
    logger: silentLogger,
    verifyPollMs: 500,
  });
}

// --- timing ----------------------------------------------------------------------------------------------

/** Seconds `run` takes. */
export async function timed(run: () => Promise<void> | void): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** `median | min | max` of durations in seconds, for a Markdown table row. */
export function spreadCells(seconds: number[]): string {
  return `${median(seconds).toFixed(3)} | ${Math.min(...seconds).toFixed(3)} | ${Math.max(...seconds).toFixed(3)}`;
}

/** Phase name -> durations (ms) of our timed runs (deploys, rollbacks), `connect` first. */
export class PhaseTimes {
  readonly #times = new Map<string, number[]>();

  /** Records one run that began (connection set-up included) at `started` (performance.now()). */
  record(started: number, outcome: { readonly durationMs: number; readonly phases: readonly PhaseRecord[] }): void {
    this.#add('connect', Math.round(performance.now() - started - outcome.durationMs));
    for (const phase of outcome.phases) if (phase.outcome !== 'skipped') this.#add(phase.name, phase.durationMs);
  }

  /** `name median, name median, …` in the order the phases first ran. */
  summary(): string {
    return [...this.#times].map(([name, times]) => `${name} ${median(times)}`).join(', ');
  }

  #add(name: string, ms: number): void {
    this.#times.set(name, [...(this.#times.get(name) ?? []), ms]);
  }
}
