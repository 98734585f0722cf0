/**
 * A release is checked again on the host before it may become (or start again as) `current`:
 * packages/host's verifyRelease, exactly as a deploy verifies a release folder it reuses (the
 * host script titan-check-bundle against `<app>/trust`: the signature against the trusted
 * keys, every listed file's size and sha256, nothing unlisted). Then its manifest is read back
 * (packages/host readInstalledRelease), the secret files it mounts are checked (packages/host
 * secret-files: there, not empty, 0600 or 0400, the deploy user's), and its images are made present
 * by digest (packages/host findMissingImages, then pullImages of the missing ones).
 */
import type { Logger } from '@titan/log/logger';
import type { HostLayout } from '@titan/host/host-layout';
import { findMissingImages, imageReferences, pullImages } from '@titan/host/image-pull';
import { readInstalledRelease } from '@titan/host/release-files';
import { HostVerificationError, verifyRelease } from '@titan/host/release-install';
import { inspectSecretFiles, releaseSecretPaths } from '@titan/host/secret-files';
import type { ReleaseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';

export interface CheckedRelease {
  readonly releaseId: string;
  readonly manifest: ReleaseManifest;
  /** `verified <id> <key file>`, the host script's verdict. */
  readonly verdict: string;
  /** Image references (`repo@sha256:...`) the host did not have and pulled now. */
  readonly pulled: readonly string[];
}

/** Why a release may not become current; `stage` says which check refused it. */
export class ReleaseRefusedError extends Error {
  override readonly name = 'ReleaseRefusedError';

  readonly releaseId: string;
  readonly stage: 'verify' | 'secrets' | 'images';
  readonly reason: string;
  constructor(releaseId: string, stage: 'verify' | 'secrets' | 'images', reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.releaseId = releaseId;
    this.stage = stage;
    this.reason = reason;
  }
}

export async function checkRelease(connection: SshConnection, layout: HostLayout, releaseId: string, logger: Logger): Promise<CheckedRelease> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  const dir = layout.releaseDir(releaseId);
  let verdict: string;
  try {
    verdict = (await verifyRelease(connection, layout, releaseId)).verdict;
  } catch (error: unknown) {
    if (error instanceof HostVerificationError) throw new ReleaseRefusedError(releaseId, 'verify', error.reason, error.message, { cause: error });
    throw error;
  }
  logger.info(`Release ${releaseId} verifies on the host: ${verdict}.`);
  const { manifest } = await readInstalledRelease(connection, layout, releaseId);
  if (manifest.releaseId !== releaseId) {
    throw new ReleaseRefusedError(releaseId, 'verify', `its manifest is release ${manifest.releaseId}`, `${dir}/manifest.json is release ${manifest.releaseId}, not ${releaseId}.`);
  }
  if (manifest.stack === undefined) {
    const reason = 'it was signed before releases carried their stack profile (manifest schemaVersion 1)';
    throw new ReleaseRefusedError(releaseId, 'verify', reason, `Release ${releaseId}: ${reason}; sign its commit again and deploy that. Nothing was stopped or switched.`);
  }
  const secretProblems = await inspectSecretFiles(connection, layout, await releaseSecretPaths(connection, layout, manifest));
  if (secretProblems.length > 0) {
    const reason = `the secret files it mounts are not kept as they must be (${secretProblems.map((p) => `${p.path} ${p.problem}`).join('; ')})`;
    throw new ReleaseRefusedError(releaseId, 'secrets', reason, `Release ${releaseId}: ${reason}: each must be the deploy user's, 0600 or 0400, not empty. Nothing was stopped or switched.`);
  }
  let pulled: string[];
  try {
    pulled = await findMissingImages(connection, imageReferences(manifest.images));
    await pullImages(connection, pulled, logger);
  } catch (error: unknown) {
    const reason = `its images cannot be had by digest (${(error instanceof Error ? error.message : String(error)).split('\n').pop() ?? ''})`;
    throw new ReleaseRefusedError(releaseId, 'images', reason, `Release ${releaseId}: ${reason}. Nothing was stopped or switched.`, { cause: error });
  }
  if (pulled.length === 0) logger.info(`Every image of release ${releaseId} is on the host, by digest.`);
  return { releaseId, manifest, verdict, pulled };
}
