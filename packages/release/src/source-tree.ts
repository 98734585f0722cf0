import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bundlePathProblem } from './bundle-path.js';
import { lstatEntry } from './entry-stat.js';
import { errorCode } from './error-code.js';
import { ReleaseSourceError } from './release-source-error.js';

/**
 * Reads the parts of a release source that are shipped: regular files only, each at a path a bundle
 * may hold. A symbolic link, a socket or a name outside the bundle charset is refused, with its path,
 * rather than followed or skipped: what is signed is exactly what is in the folder.
 */
export interface SourceFile {
  /** Path inside the bundle, identical to its path relative to the source folder. */
  readonly path: string;
  readonly absolutePath: string;
}

/** Checks that `path` (relative to `root`) is a regular file that can be shipped. */
export async function sourceFile(root: string, path: string): Promise<SourceFile> {
  checkPath(path);
  await checkAncestors(root, path);
  const absolutePath = join(root, path);
  const kind = await entryKind(root, path);
  if (kind !== 'file') throw new ReleaseSourceError(path, `is ${kind}, expected a regular file`);
  return { path, absolutePath };
}

/** Every regular file under the folder `path` (relative to `root`), sorted by path. */
export async function sourceFolder(root: string, path: string): Promise<SourceFile[]> {
  checkPath(path);
  await checkAncestors(root, path);
  const kind = await entryKind(root, path);
  if (kind !== 'a directory') throw new ReleaseSourceError(path, `is ${kind}, expected a folder`);
  const files: SourceFile[] = [];
  await walk(root, path, files);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function walk(root: string, folder: string, files: SourceFile[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(root, folder));
  } catch (error: unknown) {
    throw new ReleaseSourceError(folder, `cannot be read (${errorCode(error)})`, { cause: error });
  }
  for (const name of names) {
    const path = `${folder}/${name}`;
    checkPath(path);
    const kind = await entryKind(root, path);
    if (kind === 'a directory') await walk(root, path, files);
    else if (kind === 'file') files.push({ path, absolutePath: join(root, path) });
    else throw new ReleaseSourceError(path, `is ${kind}; a release holds regular files and folders only`);
  }
}

/** Every folder on the way to `path` is a real folder (not a symbolic link to somewhere else). */
async function checkAncestors(root: string, path: string): Promise<void> {
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i += 1) {
    const ancestor = segments.slice(0, i).join('/');
    const kind = await entryKind(root, ancestor);
    if (kind !== 'a directory') throw new ReleaseSourceError(ancestor, `is ${kind}, expected a folder`);
  }
}

function checkPath(path: string): void {
  const problem = bundlePathProblem(path);
  if (problem !== undefined) {
    throw new ReleaseSourceError(path, `unsafe path: ${problem}. Rename it (letters, digits, ".", "_", "-")`);
  }
}

/** What is at the path, without following a symbolic link; unreadable entries are errors. */
async function entryKind(root: string, path: string): Promise<string> {
  const absolute = join(root, path);
  const entry = await lstatEntry(absolute);
  if (entry.info === undefined) throw new ReleaseSourceError(path, entry.missing ? 'does not exist' : `cannot be read (${entry.code})`, { cause: entry.error });
  const { info } = entry;
  if (info.isFile()) return 'file';
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) {
    const target = await readlink(absolute).catch(() => '?');
    const dangling = await stat(absolute).then(
      () => false,
      () => true,
    );
    throw new ReleaseSourceError(
      path,
      dangling
        ? `is a dangling symbolic link (to ${target}) and cannot be read; put the file itself there`
        : `is a symbolic link (to ${target}); a release holds regular files only, put the file itself there`,
    );
  }
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}
