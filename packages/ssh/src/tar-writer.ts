/**
 * A streaming tar (POSIX ustar, with pax extended headers for long names, long link targets and
 * sizes past 8 GiB) of a local directory tree: regular files, directories (the root included as
 * `./`) and symbolic links, each with its permission bits (setuid/setgid/sticky included) and its
 * mtime. Owners are written as 0/0 with no names; extract with `tar -x -o -p` so the host's user owns
 * the files and the modes are kept as they are. Files are read in bounded chunks: memory stays flat
 * however large the tree.
 */
import { lstat, open, opendir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UploadError } from './errors.js';

const BLOCK = 512;
const READ_CHUNK = 1024 * 1024;
const BATCH = 1024 * 1024;
const MAX_OCTAL_SIZE = 0o77777777777;

export interface TarTreeOptions {
  /** Symbolic links are archived as links (`keep`, the default) or make the upload fail (`refuse`). */
  symlinks?: 'keep' | 'refuse';
}

/** Counts of what an archive holds. */
export interface TarTreeStats {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content (not of the archive). */
  bytes: number;
}

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  type: '0' | '2' | '5' | 'x';
  linkname?: string;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, length, 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
}

function isPlainAscii(value: string, max: number): boolean {
  return value.length <= max && /^[\x20-\x7e]*$/.test(value);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function headerBlock(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, Math.min(fields.size, MAX_OCTAL_SIZE));
  writeOctal(block, 136, 12, Math.max(0, Math.min(fields.mtime, MAX_OCTAL_SIZE)));
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block.write(fields.type, 156, 1, 'latin1');
  if (fields.linkname !== undefined) writeString(block, 157, 100, fields.linkname);
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest, 0);
}

/** The header block(s) of one entry: a pax header first when a field does not fit ustar. */
function entryHeaders(fields: HeaderFields): Buffer[] {
  const records: Buffer[] = [];
  let name = fields.name;
  let linkname = fields.linkname;
  if (!isPlainAscii(name, 100)) {
    records.push(paxRecord('path', name));
    name = name.replace(/[^\x20-\x7e]/g, '_').slice(-100);
  }
  if (linkname !== undefined && !isPlainAscii(linkname, 100)) {
    records.push(paxRecord('linkpath', linkname));
    linkname = linkname.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
  }
  if (fields.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(fields.size)));
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const data = Buffer.concat(records);
    blocks.push(
      headerBlock({ name: `PaxHeaders/${name.slice(-80)}`, mode: 0o644, size: data.length, mtime: fields.mtime, type: 'x' }),
      data,
      padding(data.length),
    );
  }
  blocks.push(headerBlock({ ...fields, name, ...(linkname !== undefined ? { linkname } : {}) }));
  return blocks;
}

async function* fileContent(path: string, size: number): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    let remaining = size;
    while (remaining > 0) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, size - remaining + filled);
        if (bytesRead === 0) throw new UploadError(`${path} shrank while it was being uploaded; upload a tree that is not being written to.`);
        filled += bytesRead;
      }
      remaining -= chunk.length;
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

/** One entry of a scanned tree, in archive order. */
export interface TreeEntry {
  /** Path inside the archive: `./` for the root, `dir/`, `dir/file`. */
  archivePath: string;
  localPath: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  mtime: number;
  linkTarget?: string;
}

async function scanInto(root: string, archivePath: string, options: TarTreeOptions, out: TreeEntry[]): Promise<void> {
  const localPath = archivePath === './' ? root : join(root, archivePath);
  const info = await lstat(localPath);
  const mtime = Math.floor(info.mtimeMs / 1000);
  if (info.isDirectory()) {
    out.push({ archivePath: archivePath.endsWith('/') ? archivePath : `${archivePath}/`, localPath, type: 'directory', mode: info.mode, size: 0, mtime });
    const names: string[] = [];
    for await (const dirent of await opendir(localPath)) names.push(dirent.name);
    names.sort();
    for (const name of names) {
      await scanInto(root, archivePath === './' ? name : `${archivePath}/${name}`, options, out);
    }
  } else if (info.isFile()) {
    out.push({ archivePath, localPath, type: 'file', mode: info.mode, size: info.size, mtime });
  } else if (info.isSymbolicLink()) {
    if (options.symlinks === 'refuse') {
      throw new UploadError(
        `${localPath} is a symbolic link and symbolic links were refused for this upload; replace it with the file it points to or allow symlinks.`,
      );
    }
    out.push({ archivePath, localPath, type: 'symlink', mode: info.mode, size: 0, mtime, linkTarget: await readlink(localPath) });
  } else {
    throw new UploadError(`${localPath} is not a regular file, directory or symbolic link (a socket, FIFO or device) and cannot be uploaded.`);
  }
}

/**
 * Lists the tree under `root` (a directory) in archive order, refusing what cannot be archived
 * before anything is sent: an UploadError names the offending path.
 */
export async function scanTree(root: string, options: TarTreeOptions = {}): Promise<TreeEntry[]> {
  const info = await lstat(root);
  if (!info.isDirectory()) throw new UploadError(`${root} is not a directory; upload a single file with uploadFile().`);
  const out: TreeEntry[] = [];
  await scanInto(root, './', options, out);
  return out;
}

/** Counts of a scanned tree. */
export function treeStats(entries: readonly TreeEntry[]): TarTreeStats {
  const stats: TarTreeStats = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  for (const entry of entries) {
    if (entry.type === 'file') {
      stats.files += 1;
      stats.bytes += entry.size;
    } else if (entry.type === 'directory') stats.directories += 1;
    else stats.symlinks += 1;
  }
  return stats;
}

async function* archiveEntries(entries: readonly TreeEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === 'directory') {
      yield* entryHeaders({ name: entry.archivePath, mode: entry.mode, size: 0, mtime: entry.mtime, type: '5' });
    } else if (entry.type === 'symlink') {
      yield* entryHeaders({ name: entry.archivePath, mode: entry.mode, size: 0, mtime: entry.mtime, type: '2', linkname: entry.linkTarget ?? '' });
    } else {
      yield* entryHeaders({ name: entry.archivePath, mode: entry.mode, size: entry.size, mtime: entry.mtime, type: '0' });
      yield* fileContent(entry.localPath, entry.size);
      yield padding(entry.size);
    }
  }
}

async function* batched(source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    if (chunk.length >= BATCH) {
      if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      yield chunk;
      continue;
    }
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= BATCH) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  pending.push(Buffer.alloc(BLOCK * 2, 0)); // end-of-archive marker
  yield Buffer.concat(pending);
}

/** A tar stream of scanned entries (see scanTree). A file that shrinks meanwhile destroys it with an UploadError. */
export function tarEntries(entries: readonly TreeEntry[]): Readable {
  return Readable.from(batched(archiveEntries(entries)), { objectMode: false, highWaterMark: BATCH });
}

/** Scans `root` and returns its tar stream and counts. */
export async function tarTree(root: string, options: TarTreeOptions = {}): Promise<{ stream: Readable; stats: TarTreeStats }> {
  const entries = await scanTree(root, options);
  return { stream: tarEntries(entries), stats: treeStats(entries) };
}
