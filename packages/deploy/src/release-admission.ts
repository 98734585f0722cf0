/**
 * Whether this bundle may run on the host at all, decided before anything changes (no upload, no
 * stop): what runs is exactly what was signed, and never an older or known-bad release by accident.
 *
 *  - A release id already on the host is reused only when the local manifest.json is byte-identical
 *    to the host's copy (which the host verifies again before it is used): an edited local manifest,
 *    or another bundle claiming the same id, would otherwise drive planning, migration hashes and
 *    verification while the host runs its own files.
 *  - A release older (manifest createdAt) than the one running, or one marked bad on this host
 *    before this deploy began, is a downgrade: refused unless the deploy says allow-downgrade. (A
 *    release this deploy's own recovery just reverted, an interrupted earlier attempt of the same
 *    deploy, is not: it never failed, and this is its retry.)
 *  - Every secret file the release mounts (its secrets overlay) is on the host as it must be: there,
 *    not empty, 0600 or 0400, the deploy user's (@titan/host/secret-files).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@titan/log/logger';
import type { HostLayout } from '@titan/host/host-layout';
import type { HostState } from '@titan/host/host-state';
import { readReleaseFiles } from '@titan/host/release-files';
import { requireSecretFiles } from '@titan/host/secret-files';
import { secretHostPaths } from '@titan/release/stack-secrets';
import { MANIFEST_FILE, type ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { sha256Hex } from '@titan/release/file-hash';
import type { LocalBundle } from '@titan/release/local-bundle';

/** Why a release is refused: its id reused with another manifest, older than the running one, or marked bad. */
export type RefusalReason = 'manifest-differs' | 'older' | 'marked-bad';

export class ReleaseRefusedError extends Error {
  override readonly name = 'ReleaseRefusedError';

  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface AdmissionRequest {
  readonly layout: HostLayout;
  readonly state: HostState;
  readonly bundle: LocalBundle;
  readonly allowDowngrade: boolean;
  /** The release was marked bad on the host when this deploy first looked (before any recovery). */
  readonly markedBad: boolean;
  /** The manifest of the release `current` points at (read from the host), when it is another release. */
  readonly running: (() => Promise<ReleaseManifest>) | undefined;
  readonly logger: Logger;
}

export async function admitRelease(connection: SshConnection, request: AdmissionRequest): Promise<void> {
  const { layout, state, bundle, logger } = request;
  const manifest = bundle.manifest;
  const id = manifest.releaseId;
  const onHost = state.releases.find((r) => r.id === id);

  if (onHost !== undefined) {
    const local = await readFile(join(bundle.dir, MANIFEST_FILE));
    const hostCopy = (await readReleaseFiles(connection, layout, id, [MANIFEST_FILE])).get(MANIFEST_FILE);
    if (hostCopy === undefined || !hostCopy.equals(local)) {
      throw new ReleaseRefusedError(
        'manifest-differs',
        `Release ${id} is already on ${connection.host}, but the local bundle's ${MANIFEST_FILE} is not byte-identical to the host's verified copy ` +
          `(sha256 ${sha256Hex(local).slice(0, 12)}… here, ${hostCopy === undefined ? 'none' : `${sha256Hex(hostCopy).slice(0, 12)}…`} on the host). ` +
          'Nothing was changed. A signed release never changes: the bundle was edited, or another bundle claims the same release id. Sign a new release.',
      );
    }
    logger.info(`Release ${id} is already on the host; the local ${MANIFEST_FILE} is byte-identical to the host's copy.`);
  }

  const downgrades: string[] = [];
  if (request.markedBad) downgrades.push(`release ${id} is marked bad on this host (state/${id}.bad)`);
  else if (onHost?.bad === true) logger.warning(`Release ${id} was just returned from by this deploy's recovery (an earlier attempt of this deploy was interrupted); deploying it again.`);
  if (request.running !== undefined) {
    const running = await request.running();
    if (Date.parse(manifest.createdAt) < Date.parse(running.createdAt)) {
      downgrades.push(`release ${id} (created ${manifest.createdAt}) is older than release ${running.releaseId}, which runs now (created ${running.createdAt})`);
    }
  }
  const secretFiles = secretHostPaths(bundle.compose.secrets);
  if (secretFiles.length > 0) {
    await requireSecretFiles(connection, layout, secretFiles, 'Nothing was stopped or changed.');
    logger.info(`The ${secretFiles.length} secret file(s) the release mounts are on the host: the deploy user's, 0600 or 0400, not empty.`);
  }

  if (downgrades.length === 0) return;
  const what = downgrades.join(', and ');
  if (!request.allowDowngrade) {
    throw new ReleaseRefusedError(
      request.markedBad ? 'marked-bad' : 'older',
      `Refused: ${what}. Nothing was changed. To deploy it anyway (a deliberate downgrade), deploy again with allow-downgrade: true; ` +
        'to return to an earlier release after an incident, action-rollback is the tool.',
    );
  }
  logger.warning(`Deploying a downgrade as asked (allow-downgrade: true): ${what}.`);
}
