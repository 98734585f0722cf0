/**
 * The real test host (scripts/test-host/up) as deploy tests use it: an application folder of their
 * own laid out as provisioning does (trust/ with the release public key, shared/.env.prod 0600,
 * releases/, journal.jsonl, all owned by the deploy user), connections as the deploy user, and
 * what a test compares: the app folder listing (path, size, sha256), the project's containers.
 * Tests run as root on the same machine, so they read the host's files and Docker directly.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RecordingLogger, recordingLogger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { readProductionValues } from '@titan/test-host/production-values';
import { copySharedValues } from '@titan/test-host/shared-values';
import { loadTestHost, type TestHost } from '@titan/test-host/test-host';

export const testHost: TestHost = loadTestHost();

function deployIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', testHost.user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', testHost.user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * A fresh application folder `<stateDir>/opt/<name>` (removed first if a previous run left it), a
 * copy of the test host's provisioned layout: trust/ (root-owned, 0755, the release key's PEM),
 * shared/.env.prod (0600, the host's own production values), releases/ and journal.jsonl.
 */
export function prepareAppDir(name: string): string {
  const appDir = join(testHost.stateDir, 'opt', name);
  rmSync(appDir, { recursive: true, force: true });
  const { uid, gid } = deployIds();
  mkdirSync(join(appDir, 'releases'), { recursive: true, mode: 0o750 });
  mkdirSync(join(appDir, 'shared'), { mode: 0o700 });
  mkdirSync(join(appDir, 'trust'), { mode: 0o755 });
  copySharedValues(testHost, appDir);
  cpSync(testHost.releasePublicKeyPem, join(appDir, 'trust', `${testHost.releaseKeyId}.pem`));
  writeFileSync(join(appDir, 'journal.jsonl'), '', { mode: 0o640 });
  for (const path of [appDir, join(appDir, 'releases'), join(appDir, 'journal.jsonl')]) {
    chownSync(path, uid, gid);
  }
  execFileSync('chmod', ['0750', appDir]);
  return appDir;
}

/** The values of the host's production file (to prove none of them leaks). */
export function productionValues(appDir: string): string[] {
  const values = readProductionValues(join(appDir, 'shared', '.env.prod'));
  return [...values]
    .filter(([name, value]) => value.length >= 8 && !['TITAN_MODE', 'TITAN_REGISTRY', 'POSTGRES_UID', 'POSTGRES_GID', 'ACME_EMAIL', 'DOMAIN'].includes(name))
    .map(([, value]) => value);
}

export interface Connected {
  connection: SshConnection;
  logger: RecordingLogger;
}

export async function connectToHost(): Promise<Connected> {
  const logger = recordingLogger();
  const connection = await connectSsh({
    host: testHost.host,
    port: testHost.port,
    username: testHost.user,
    privateKey: readFileSync(testHost.privateKeyPath, 'utf8'),
    hostKeys: [testHost.knownHosts],
    retry: { attempts: 2 },
    logger,
  });
  return { connection, logger };
}

/** Every file and link under the app folder: path, kind, size and sha256 (links: their target). */
export function appDirListing(appDir: string): string[] {
  const out: string[] = [];
  const walk = (relative: string): void => {
    const absolute = relative === '' ? appDir : join(appDir, relative);
    for (const name of readdirSync(absolute).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const info = lstatSync(join(appDir, path));
      if (info.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(join(appDir, path))}`);
      else if (info.isDirectory()) {
        out.push(`${path}/ ${(info.mode & 0o7777).toString(8)}`);
        walk(path);
      } else {
        const sha = createHash('sha256').update(readFileSync(join(appDir, path))).digest('hex');
        out.push(`${path} ${info.size} ${(info.mode & 0o7777).toString(8)} ${sha}`);
      }
    }
  };
  walk('');
  return out;
}

/** Service -> container id of the project's containers (running or not). */
export function containerIds(project: string): Record<string, string> {
  const out = execFileSync(
    'docker',
    ['ps', '-a', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.ID}} {{.Label "com.docker.compose.service"}} {{.State}}'],
    { encoding: 'utf8' },
  );
  const ids: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [id, service] = line.split(' ');
    if (id !== undefined && service !== undefined && id !== '') ids[service] = id;
  }
  return ids;
}

/** Service -> state (running, exited, ...). */
export function containerStates(project: string): Record<string, string> {
  const out = execFileSync(
    'docker',
    ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}'],
    { encoding: 'utf8' },
  );
  const states: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [service, state] = line.split(' ');
    if (service !== undefined && state !== undefined && service !== '') states[service] = state;
  }
  return states;
}

/** The environment a container was created with, as docker inspect reports it. */
export function containerEnv(id: string): Record<string, string> {
  const out = execFileSync('docker', ['inspect', '--format', '{{json .Config.Env}}', id], { encoding: 'utf8' });
  const env: Record<string, string> = {};
  for (const entry of JSON.parse(out) as string[]) env[entry.slice(0, entry.indexOf('='))] = entry.slice(entry.indexOf('=') + 1);
  return env;
}

/** GET a health endpoint the stack publishes on the host's loopback. */
export async function health(port: number): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return (await response.json()) as Record<string, unknown>;
}

/** Where `current` points, or undefined. */
export function currentOf(appDir: string): string | undefined {
  return existsSync(join(appDir, 'current')) || lstatExists(join(appDir, 'current')) ? readlinkSync(join(appDir, 'current')) : undefined;
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function journalOf(appDir: string): Record<string, unknown>[] {
  return readFileSync(join(appDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Removes the project's containers, volumes and networks (what `docker compose down -v` does),
 * found by the project label, so it needs no compose file; also stops any guard of the app folder.
 */
export { bringDown, killGuards } from '@titan/test-host/stack-teardown';

/** Waits until `check` holds, polling. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 200): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return check();
}
