/**
 * A Titan stack of the verifier's own on the real test host, set up without the deploy action: a
 * test-owned app dir laid out like the host's (trust/, shared/.env.prod 0600 owned by deploy,
 * releases/<id>, current -> it), a release signed from examples/titan with the test host's image
 * digests and release key, and `docker compose up -d` of it as root with the host's Docker CLI (the
 * engine the deploy user's commands reach).
 *
 * The copy of examples/titan signed here differs in one thing: the host ports of
 * docker-compose.prod.yml are moved up by PORT_OFFSET (3100 -> 23100, ...), so this stack can run
 * while a colleague's stack holds the real ports; it also shows that the verifier reads the
 * published port from Docker instead of assuming it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type Logger, silentLogger } from '@titan/log/logger';
import { parseReleaseKey } from '@titan/release/release-key';
import { signRelease, type SignedRelease } from '@titan/release/sign-release';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { loadTestHost, readReleaseKey, type TestHost } from '@titan/test-host/test-host';
import { copySharedValues } from '@titan/test-host/shared-values';

const run = promisify(execFile);

export const PROJECT = 'titanverify';
export const PORT_OFFSET = 20_000;
const DEPLOY_USER = 'deploy';

export interface VerifyStackFixture {
  readonly host: TestHost;
  readonly appDir: string;
  readonly release: SignedRelease;
  readonly sourceDir: string;
  /** Runs `docker compose` for this stack's project as root, with the release's compose files and extra `-f` files. */
  compose(args: readonly string[], extraFiles?: readonly string[]): Promise<string>;
  docker(args: readonly string[]): Promise<string>;
  /** The container of a service (compose v1 names: `<project>_<service>_1`). */
  containerName(service: string): string;
  /** Signs another release from a copy of the source changed by `edit` (not made current). */
  signVariant(edit: (sourceDir: string) => Promise<void>): Promise<SignedRelease>;
  /** A new SSH connection as the deploy user (its logger sees every command it runs). */
  connect(logger?: Logger): Promise<SshConnection>;
  /** `docker compose down -v`, then removes the app dir and the source copy. */
  destroy(): Promise<void>;
}

let signed = 0;

export async function createVerifyStack(): Promise<VerifyStackFixture> {
  const host = loadTestHost();
  const appDir = join(dirname(host.appDir), PROJECT);
  const sourceDir = await mkdtemp(join(tmpdir(), 'titan-verify-source-'));
  const scratch = await mkdtemp(join(tmpdir(), 'titan-verify-scratch-'));

  const docker = async (args: readonly string[]): Promise<string> => {
    try {
      const { stdout } = await run('docker', [...args], { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (error: unknown) {
      const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
      throw new Error(`docker ${args.join(' ')} failed: ${error instanceof Error ? error.message : String(error)}\n${stderr}`, { cause: error });
    }
  };
  const compose = (args: readonly string[], extraFiles: readonly string[] = []): Promise<string> => {
    const current = join(appDir, 'current');
    const files = ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.secrets.yml', 'docker-compose.digests.yml'].map((f) => join(current, f));
    return docker([
      'compose',
      '-p',
      PROJECT,
      '--project-directory',
      current,
      ...[...files, ...extraFiles].flatMap((f) => ['-f', f]),
      '--env-file',
      join(appDir, 'shared', '.env.prod'),
      ...args,
    ]);
  };

  // A stack left over by an interrupted run goes first: its containers, volumes and network.
  await removeProject(docker);
  await rm(appDir, { recursive: true, force: true });

  // The app dir, laid out as the test host's.
  await mkdir(join(appDir, 'releases'), { recursive: true });
  await mkdir(join(appDir, 'shared'), { recursive: true });
  await cp(join(host.appDir, 'trust'), join(appDir, 'trust'), { recursive: true });
  copySharedValues(host, appDir);

  await cp(host.example, sourceDir, { recursive: true });
  await shiftPublishedPorts(join(sourceDir, 'docker-compose.prod.yml'));

  const signingKey = parseReleaseKey(readReleaseKey(host));
  const digests = new Map(Object.entries(host.images).map(([service, ref]) => [service, ref.slice(ref.indexOf('@') + 1)]));
  const gitSha = (await run('git', ['-C', host.example, 'rev-parse', 'HEAD']).catch(() => ({ stdout: 'f'.repeat(40) }))).stdout.trim();

  const sign = async (source: string): Promise<SignedRelease> => {
    signed += 1;
    const release = await signRelease(
      {
        source,
        selection: { digests, registry: host.imagePrefix },
        signingKey,
        keyId: host.releaseKeyId,
        git: { sha: gitSha, ref: 'refs/heads/main' },
        runUrl: '',
        createdAt: new Date(Date.now() + signed * 1000),
        output: join(appDir, 'releases'),
      },
      silentLogger,
    );
    await chownTree(appDir);
    return release;
  };

  const release = await sign(sourceDir);
  // current -> releases/<id>, switched atomically like deploy does.
  await symlink(join('releases', release.manifest.releaseId), join(appDir, 'current.tmp'));
  await rename(join(appDir, 'current.tmp'), join(appDir, 'current'));
  await run('chown', ['-h', `${DEPLOY_USER}:${DEPLOY_USER}`, join(appDir, 'current')]);
  await chmod(appDir, 0o750);

  await compose(['up', '-d', '--remove-orphans']);

  return {
    host,
    appDir,
    release,
    sourceDir,
    compose,
    docker,
    containerName: (service) => `${PROJECT}_${service}_1`,
    async signVariant(edit) {
      const copy = await mkdtemp(join(scratch, 'source-'));
      await cp(sourceDir, copy, { recursive: true });
      await edit(copy);
      return sign(copy);
    },
    connect: (logger = silentLogger) =>
      connectSsh({
        host: host.host,
        port: host.port,
        username: host.user,
        privateKey: readFileSync(host.privateKeyPath, 'utf8'),
        hostKeys: [host.knownHosts],
        logger,
      }),
    async destroy() {
      await compose(['down', '-v', '--remove-orphans']).catch(() => '');
      await removeProject(docker);
      await rm(appDir, { recursive: true, force: true });
      await rm(sourceDir, { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Writes a compose override file for some services into a scratch folder; returns its path. */
export async function writeOverride(dir: string, name: string, yaml: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
}

/** Removes whatever Docker holds for the project: containers, then volumes and networks. */
async function removeProject(docker: (args: readonly string[]) => Promise<string>): Promise<void> {
  const label = `label=com.docker.compose.project=${PROJECT}`;
  const list = async (args: readonly string[]): Promise<string[]> => (await docker([...args, '--filter', label])).split('\n').filter((l) => l !== '');
  const containers = await list(['ps', '-aq']);
  if (containers.length > 0) await docker(['rm', '-f', '-v', ...containers]);
  const volumes = await list(['volume', 'ls', '-q']);
  if (volumes.length > 0) await docker(['volume', 'rm', '-f', ...volumes]);
  const networks = await list(['network', 'ls', '-q']);
  if (networks.length > 0) await docker(['network', 'rm', ...networks]);
}

/** Moves every `127.0.0.1:<host>:<container>` of a compose file up by PORT_OFFSET. */
async function shiftPublishedPorts(file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const shifted = text.replace(/"127\.0\.0\.1:(\d+):(\d+)"/g, (_all, hostPort: string, containerPort: string) => `"127.0.0.1:${Number(hostPort) + PORT_OFFSET}:${containerPort}"`);
  if (shifted === text) throw new Error(`${file}: no "127.0.0.1:<port>:<port>" mapping to move; has examples/titan changed?`);
  await writeFile(file, shifted);
}

async function chownTree(dir: string): Promise<void> {
  await run('chown', ['-R', `${DEPLOY_USER}:${DEPLOY_USER}`, dir]);
  const trust = join(dir, 'trust');
  if (await lstat(trust).then(() => true, () => false)) await run('chown', ['-R', 'root:root', trust]);
}

