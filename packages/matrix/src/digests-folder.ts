import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeBadDigest, parseDigestFile } from './image-digest.js';
import { MatrixInputError } from './matrix-input-error.js';

/**
 * The digests the build legs left: a folder holding one file per built service, named after the
 * service, holding `sha256:<64 hex>` (one trailing newline allowed). Read strictly: a file for an
 * unknown service, a malformed digest, a subfolder or an empty folder is an error that lists every
 * such file.
 */
export async function readDigestsFolder(dir: string, knownServices: readonly string[]): Promise<Map<string, string>> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new MatrixInputError('digests', `${dir} is not a directory: give the folder the build legs' digest files were downloaded into`);
  } catch (error: unknown) {
    if (error instanceof MatrixInputError) throw error;
    throw new MatrixInputError(
      'digests',
      `${dir} does not exist: download the build legs' digest artifacts into it first (actions/download-artifact with pattern: digest-* and merge-multiple: true)`,
      [],
      { cause: error },
    );
  }
  const names = (await readdir(dir)).sort();
  if (names.length === 0) {
    throw new MatrixInputError('digests', `${dir} holds no digest files: each build leg writes its digest to a file named after its service`);
  }
  const known = new Set(knownServices);
  const problems: string[] = [];
  const digests = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    if (!known.has(name)) {
      problems.push(`${path}: "${name}" is not a service in services.yml (expected one of: ${[...known].join(', ')})`);
      continue;
    }
    if (!(await stat(path)).isFile()) {
      problems.push(`${path}: expected a file holding the digest, found a directory`);
      continue;
    }
    const text = await readFile(path, 'utf8');
    const digest = parseDigestFile(text);
    if (digest === undefined) problems.push(`${path}: expected sha256:<64 lowercase hex> and at most one newline; ${describeBadDigest(text)}`);
    else digests.set(name, digest);
  }
  if (problems.length > 0) {
    throw new MatrixInputError('digests', `${dir}: ${problems.length} digest file${problems.length === 1 ? ' is' : 's are'} not valid:`, problems);
  }
  return digests;
}
