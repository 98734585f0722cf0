/**
 * Reading files of an installed release back from the host (its manifest, its compose files), in
 * one remote command. Paths are bundle paths (checked), relative to the release folder.
 */
import { isBundlePath } from '@titan/release/bundle-path';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from '@titan/release/manifest';
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';

export const READ_RELEASE_FILES_SCRIPT_NAME = 'titan-read-release-files';

// $1 release folder, then paths in it. For each: "file <path>" and the file in base64 on one line,
// or "missing <path>" and an empty line.
export const READ_RELEASE_FILES_SCRIPT = `set -eu
dir=$1
shift
cd "$dir"
for path in "$@"; do
  if [ -f "$path" ]; then
    printf 'file %s\\n' "$path"
    base64 -w 0 < "$path"
    printf '\\n'
  else
    printf 'missing %s\\n\\n' "$path"
  fi
done
`;

export async function readReleaseFiles(connection: SshConnection, layout: HostLayout, releaseId: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new Error(`Release id ${JSON.stringify(releaseId)} does not match ${RELEASE_ID_PATTERN.source}.`);
  for (const path of paths) {
    if (!isBundlePath(path)) throw new Error(`${JSON.stringify(path)} is not a bundle path.`);
  }
  const { stdout } = await connection.runScript(READ_RELEASE_FILES_SCRIPT, [layout.releaseDir(releaseId), ...paths], {
    name: READ_RELEASE_FILES_SCRIPT_NAME,
    timeoutMs: 60_000,
  });
  const files = new Map<string, Buffer>();
  const lines = stdout.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const header = lines[i] ?? '';
    if (header.startsWith('missing ')) continue;
    if (!header.startsWith('file ')) break;
    files.set(header.slice('file '.length), Buffer.from(lines[i + 1] ?? '', 'base64'));
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
