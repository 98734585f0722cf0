/**
 * A release already on the host, as the swarm target uses it: verified again in place
 * (@titan/host/release-install verifyRelease), its manifest read from the verified folder, and the
 * stack release it makes (compose files, pinned images).
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HostLayout } from '@titan/host/host-layout';
import { readReleaseFiles } from '@titan/host/release-files';
import { verifyRelease } from '@titan/host/release-install';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import { releaseImages } from './stack-definition.js';
import type { StackRelease } from './stack-deploy.js';

/** The manifest of releases/<id> on the host (read, not verified: verify it first). */
export async function hostManifest(connection: SshConnection, layout: HostLayout, releaseId: string): Promise<ReleaseManifest> {
  const bytes = (await readReleaseFiles(connection, layout, releaseId, [MANIFEST_FILE])).get(MANIFEST_FILE);
  if (bytes === undefined) throw new Error(`${layout.releaseDir(releaseId)}/${MANIFEST_FILE} is missing on ${connection.host}.`);
  return parseManifest(bytes);
}

/** releases/<id> verified again on the host, then its manifest: what a return to it deploys. */
export async function verifiedHostRelease(connection: SshConnection, layout: HostLayout, releaseId: string): Promise<ReleaseManifest> {
  await verifyRelease(connection, layout, releaseId);
  return hostManifest(connection, layout, releaseId);
}

export function stackRelease(layout: HostLayout, stack: string, manifest: ReleaseManifest, mode: TitanMode): StackRelease {
  return { layout, stack, releaseId: manifest.releaseId, composeFiles: manifest.compose, images: releaseImages({ manifest }), mode };
}
