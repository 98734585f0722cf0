import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DockerIgnore } from './dockerignore.js';

/**
 * What `docker build` sends from a context directory, as entries a build key can hash: every file,
 * symlink and directory that the ignore file keeps, with a mode as git records it and a content
 * hash. Modification times, owners and the order the file system lists entries in do not count.
 */
export interface ContextEntry {
  /** Relative to the context, `/`-separated. */
  path: string;
  /**
   * `100755` executable file, `100644` other file, `120000` symlink, `040000` directory: the modes
   * git keeps, so a checkout's umask does not change the key.
   */
  mode: '100644' | '100755' | '120000' | '040000';
  /** sha256 hex of the file's bytes or the link's target; empty for a directory. */
  sha256: string;
}

export interface BuildContext {
  entries: ContextEntry[];
  /** The ignore file that applied (absolute path), if any. */
  ignoreFile?: string;
}

/**
 * Reads a build context. The ignore file is `<Dockerfile>.dockerignore` next to the Dockerfile when
 * it exists (BuildKit's rule), else `<context>/.dockerignore`.
 */
export async function readBuildContext(contextDir: string, dockerfile: string): Promise<BuildContext> {
  const ignore = await findIgnoreFile(contextDir, dockerfile);
  const matcher = new DockerIgnore(ignore?.text ?? '');
  const entries: ContextEntry[] = [];
  await walk(contextDir, '', matcher, entries);
  entries.sort((a, b) => compareBytes(a.path, b.path));
  return ignore === undefined ? { entries } : { entries, ignoreFile: ignore.path };
}

/** The ignore rules that apply to a context (an empty set when there is no ignore file). */
export async function contextIgnoreRules(contextDir: string, dockerfile: string): Promise<DockerIgnore> {
  const ignore = await findIgnoreFile(contextDir, dockerfile);
  return new DockerIgnore(ignore?.text ?? '');
}

async function findIgnoreFile(contextDir: string, dockerfile: string): Promise<{ path: string; text: string } | undefined> {
  for (const path of [join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`), join(contextDir, '.dockerignore')]) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error: unknown) {
      if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) continue;
      throw error;
    }
    try {
      new DockerIgnore(text);
    } catch (error: unknown) {
      throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { path, text };
  }
  return undefined;
}

async function walk(root: string, prefix: string, ignore: DockerIgnore, entries: ContextEntry[]): Promise<void> {
  const dir = prefix === '' ? root : join(root, prefix);
  const names = (await readdir(dir)).sort(compareBytes);
  for (const name of names) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const absolute = join(root, path);
    const info = await lstat(absolute);
    const ignored = ignore.ignores(path);
    if (info.isDirectory()) {
      if (ignored && !ignore.hasExceptions) continue;
      if (!ignored) entries.push({ path, mode: '040000', sha256: '' });
      await walk(root, path, ignore, entries);
    } else if (ignored) {
      continue;
    } else if (info.isSymbolicLink()) {
      entries.push({ path, mode: '120000', sha256: sha256Hex(await readlink(absolute)) });
    } else if (info.isFile()) {
      entries.push({ path, mode: (info.mode & 0o111) !== 0 ? '100755' : '100644', sha256: await hashFile(absolute) });
    } else {
      throw new Error(`${absolute} is neither a file, a directory nor a symlink: a build context cannot hold it (add it to .dockerignore)`);
    }
  }
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Orders paths by their UTF-8 bytes: the same on every machine and locale. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
