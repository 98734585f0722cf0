/**
 * The secret files a release's compose files mount (its secrets overlay, see
 * @titan/release/stack-secrets), as the host keeps them under `shared/`: each must be a regular file
 * (not a symbolic link, not a folder), not empty, mode 0600 or 0400, owned by the deploy user (the
 * user the session runs as). Compose mounts a missing source as an empty folder created by the
 * engine, and a looser file is readable by other users of the host: a deploy refuses both before it
 * stops anything. The check reads modes, owners and sizes only: no content crosses the connection.
 */
import { DIGEST_OVERRIDE_FILE, type ReleaseManifest } from '@titan/release/manifest';
import { secretHostPaths, stackSecretsOf } from '@titan/release/stack-secrets';
import type { SshConnection } from '@titan/ssh/connection';
import { parse } from 'yaml';
import { HOST_NAMES, type HostLayout } from './host-layout.js';
import { recordsOf } from './host-record.js';
import { ProblemsError } from './problems-error.js';
import { runHostScript } from './host-script.js';
import { readReleaseFiles } from './release-files.js';

export interface SecretFileProblem {
  /** Relative to the application folder: `shared/secrets/binance_api_key`. */
  readonly path: string;
  readonly problem: string;
}

export class SecretFilesError extends ProblemsError<SecretFileProblem> {
  override readonly name = 'SecretFilesError';
}

/** A path under the shared folder as stack-secrets gives it: safe characters, no `.`/`..` segments. */
const HOST_PATH = new RegExp(`^${HOST_NAMES.shared}/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`);

/** Checks the secret files (paths relative to the app folder); returns every problem, in path order. */
export async function inspectSecretFiles(connection: SshConnection, layout: HostLayout, paths: readonly string[]): Promise<SecretFileProblem[]> {
  if (paths.length === 0) return [];
  for (const path of paths) {
    if (!HOST_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) throw new Error(`Secret file path ${JSON.stringify(path)} is not a path under ${HOST_NAMES.shared}/.`);
  }
  const { stdout } = await runHostScript(connection, layout, 'titan-secret-files', paths, { timeoutMs: 30_000 });
  return recordsOf(stdout, 'secret-file').map(([path = '', problem = '']) => ({ path, problem }));
}

/** inspectSecretFiles, throwing SecretFilesError naming every problem (`what` says what was not done). */
export async function requireSecretFiles(connection: SshConnection, layout: HostLayout, paths: readonly string[], what: string): Promise<void> {
  const problems = await inspectSecretFiles(connection, layout, paths);
  if (problems.length === 0) return;
  throw new SecretFilesError(
    `The host ${connection.host} does not keep the secret files this release mounts as it must: ` +
      `${problems.map((p) => `${layout.appDir}/${p.path} ${p.problem}`).join('; ')}. ${what} ` +
      `Each secret file of the release's secrets overlay is the deploy user's, mode 0600 or 0400, under ${layout.sharedDir}/ ` +
      '(action-provision writes them with secret-files; or: install -m 0600 -o deploy FILE PATH).',
    problems,
  );
}

/** The secret files (relative to the app folder) an installed release mounts, from its compose files on the host. */
export async function releaseSecretPaths(connection: SshConnection, layout: HostLayout, manifest: ReleaseManifest): Promise<string[]> {
  const composeFiles = manifest.compose.filter((f) => f !== DIGEST_OVERRIDE_FILE);
  const texts = await readReleaseFiles(connection, layout, manifest.releaseId, composeFiles);
  return secretHostPaths(stackSecretsOf(composeFiles.map((f) => {
    const bytes = texts.get(f);
    return bytes === undefined ? undefined : (parse(bytes.toString('utf8'), { merge: true, uniqueKeys: false }) as unknown);
  })));
}
