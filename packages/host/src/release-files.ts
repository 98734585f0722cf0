/**
 * Reading files of an installed release back from the host (its manifest, its compose files), in
 * one remote command. Paths are bundle paths (checked), relative to the release folder.
 */
import { isBundlePath } from '@titan/release/bundle-path';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';
import { recordsOf } from './host-record.js';
import { runHostScript } from './host-script.js';

export async function readReleaseFiles(connection: SshConnection, layout: HostLayout, releaseId: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  for (const path of paths) {
    if (!isBundlePath(path)) throw new Error(`${JSON.stringify(path)} is not a bundle path.`);
  }
  const { stdout } = await runHostScript(connection, layout, 'titan-read-release-files', [releaseId, ...paths], { timeoutMs: 60_000 });
  const files = new Map<string, Buffer>();
  for (const [path, base64] of recordsOf(stdout, 'file')) {
    if (path !== undefined) files.set(path, Buffer.from(base64 ?? '', 'base64'));
  }
  return files;
}

/**
 * An installed release's manifest, and the files the caller wants of it: `guess` is read along with
 * the manifest in one command (files it does not have are skipped); `wanted(manifest)` names the
 * files still needed once the manifest is known (read in a second command only if some are missing).
 */
export async function readInstalledRelease(
  connection: SshConnection,
  layout: HostLayout,
  releaseId: string,
  options: { guess?: readonly string[]; wanted?: (manifest: ReleaseManifest) => readonly string[] } = {},
): Promise<{ manifest: ReleaseManifest; files: Map<string, Buffer> }> {
  const guess = (options.guess ?? []).filter((p) => p !== MANIFEST_FILE);
  const files = await readReleaseFiles(connection, layout, releaseId, [MANIFEST_FILE, ...guess]);
  const bytes = files.get(MANIFEST_FILE);
  if (bytes === undefined) throw new Error(`${layout.releaseDir(releaseId)}/${MANIFEST_FILE} could not be read.`);
  files.delete(MANIFEST_FILE);
  const manifest = parseManifest(bytes);
  const missing = (options.wanted?.(manifest) ?? []).filter((p) => !files.has(p));
  if (missing.length > 0) {
    for (const [path, content] of await readReleaseFiles(connection, layout, releaseId, missing)) files.set(path, content);
  }
  return { manifest, files };
}
