/**
 * A release is checked again on the host before it may become (or start again as) `current`: the
 * release package's HOST_VERIFY_SCRIPT run against `<app>/trust` by packages/host's
 * VERIFY_RELEASE_SCRIPT, exactly as a deploy verifies a release folder it reuses (the signature
 * against the trusted keys, every listed file's size and sha256, nothing unlisted). Then its
 * manifest is read back (packages/host readInstalledRelease) and its images are made present by
 * digest (packages/host findMissingImages, then pullImages of the missing ones).
 */
import type { Logger } from '@titan/log/logger';
import type { HostLayout } from '@titan/host/host-layout';
import { findMissingImages, imageReferences, pullImages } from '@titan/host/image-pull';
import { readInstalledRelease } from '@titan/host/release-files';
import { VERIFY_RELEASE_SCRIPT, VERIFY_RELEASE_SCRIPT_NAME, verifyReason } from '@titan/host/release-install';
import { HOST_VERIFY_SCRIPT } from '@titan/release/host-verify-script';
import type { ReleaseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';

/** Exit status of VERIFY_RELEASE_SCRIPT when the release does not verify. */
const REFUSED_EXIT = 3;

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
  readonly stage: 'verify' | 'images';
  readonly reason: string;

  constructor(releaseId: string, stage: 'verify' | 'images', reason: string, message: string, options?: ErrorOptions) {
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
    const { stdout } = await connection.runScript(VERIFY_RELEASE_SCRIPT, [dir, layout.trustDir, releaseId], {
      name: VERIFY_RELEASE_SCRIPT_NAME,
      stdin: HOST_VERIFY_SCRIPT,
      timeoutMs: 5 * 60_000,
    });
    verdict = stdout.trim().split('\n').pop() ?? '';
  } catch (error: unknown) {
    if (error instanceof CommandFailedError && error.exitCode === REFUSED_EXIT) {
      const reason = verifyReason(error.stderrTail);
      throw new ReleaseRefusedError(
        releaseId,
        'verify',
        reason,
        `Release ${releaseId} no longer verifies on ${connection.host} against ${layout.trustDir}: ${reason}. ` +
          'A release folder must never change after it was verified: find out who altered it.',
        { cause: error },
      );
    }
    throw error;
  }
  // Fail closed: success is the host script's own verdict for this release, nothing less.
  if (!verdict.startsWith(`verified ${releaseId} `)) {
    throw new Error(`Verifying release ${releaseId} on ${connection.host} gave no verdict (${JSON.stringify(verdict)}); it is not used.`);
  }
  logger.info(`Release ${releaseId} verifies on the host: ${verdict}.`);
  const { manifest } = await readInstalledRelease(connection, layout, releaseId);
  if (manifest.releaseId !== releaseId) {
    throw new ReleaseRefusedError(releaseId, 'verify', `its manifest is release ${manifest.releaseId}`, `${dir}/manifest.json is release ${manifest.releaseId}, not ${releaseId}.`);
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
