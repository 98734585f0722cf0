/**
 * What verify checks the stack against, and where its report goes: the release of a local bundle
 * (verified on the runner against public-key, or said not to be), or the host's current release
 * (verified on the host against its trust/); the report as JSON under RUNNER_TEMP.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@titan/log/logger';
import { readLocalBundle } from '@titan/release/local-bundle';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { readHostRelease } from '@titan/verify/host-release';

export interface ReleaseToVerify {
  readonly manifest: ReleaseManifest;
  /** Where the manifest came from and how it was verified, for the summary. */
  readonly origin: string;
}

export async function bundleRelease(settings: { bundle: string | undefined; publicKeys: readonly Uint8Array[] }, logger: Logger): Promise<ReleaseToVerify> {
  const dir = settings.bundle ?? '';
  const { manifest, verified } = await readLocalBundle(dir, settings.publicKeys);
  if (verified) {
    logger.info(`${dir}: release ${manifest.releaseId}, signature and every file verified against the public key`);
    return { manifest, origin: `${manifest.releaseId} from the bundle ${dir}, verified on the runner against public-key` };
  }
  logger.warning(`${dir}: release ${manifest.releaseId} read WITHOUT checking its signature; give public-key to verify it`);
  return { manifest, origin: `${manifest.releaseId} from the bundle ${dir}, NOT verified (no public-key given)` };
}

export async function hostRelease(connection: SshConnection, settings: { appDir: string; publicKeys: readonly Uint8Array[] }, logger: Logger): Promise<ReleaseToVerify> {
  const release = await readHostRelease(connection, { appDir: settings.appDir, publicKeys: settings.publicKeys });
  const id = release.manifest.releaseId;
  logger.info(`${settings.appDir}/current -> ${release.currentTarget}: release ${id}, ${release.hostVerdict} (checked on the host)`);
  const runner = release.runnerKeyIndex === undefined ? '' : ' and on the runner against public-key';
  return { manifest: release.manifest, origin: `${id}, the host's current release, verified on the host against ${settings.appDir}/trust${runner}` };
}

/** Writes the report as JSON under RUNNER_TEMP (or the working directory); returns its path. */
export async function writeReport(report: unknown, name: string): Promise<string> {
  const dir = process.env['RUNNER_TEMP'] || process.cwd();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `titan-verify-${name}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
  return path;
}
