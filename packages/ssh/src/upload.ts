/**
 * Uploads over exec channels: a single file or buffer written atomically (temporary file in the
 * same directory, mode set, then renamed over the target), and a whole directory tree sent as ONE
 * tar stream that the host unpacks with `tar -x`, modes kept.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { SshConfigError } from './errors.js';
import type { CommandSession } from './command-session.js';
import { runCommand } from './remote-command.js';
import { type TarTreeOptions, type TarTreeStats, scanTree, tarEntries, treeStats } from './tar-writer.js';

export interface UploadFileOptions {
  /** Permission bits of the file on the host. Default: the local file's, or 0644 for data. */
  mode?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UploadTreeOptions extends TarTreeOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

// $1 = destination, $2 = octal mode. The data is written with umask 077 (never readable by others
// while it is incomplete), then given its mode and renamed over the destination.
export const WRITE_FILE_SCRIPT = `set -eu
dest=$1
case $dest in /*) ;; *) dest=./$dest ;; esac
dir=$(dirname "$dest")
mkdir -p -- "$dir"
tmp="$dest.titan-upload.$$"
trap 'rm -f -- "$tmp"' EXIT
umask 077
cat > "$tmp"
chmod "$2" "$tmp"
mv -f -- "$tmp" "$dest"
trap - EXIT`;

// $1 = destination directory. -o: files belong to the connecting user; -p: modes exactly as archived.
export const UNPACK_TREE_SCRIPT = `set -eu
mkdir -p -- "$1"
exec tar -x -o -p -f - -C "$1"`;

function checkRemotePath(path: string, what: string): void {
  if (path.length === 0) throw new SshConfigError(`The remote ${what} path is empty.`);
  if (path.includes('\0')) throw new SshConfigError(`The remote ${what} path contains a NUL byte.`);
}

/** Writes `source` (a local file path, a Buffer or a stream) to `remotePath` on the host. */
export async function uploadFile(
  session: CommandSession,
  source: string | Buffer | Readable,
  remotePath: string,
  options: UploadFileOptions = {},
): Promise<{ bytes: number; durationMs: number }> {
  checkRemotePath(remotePath, 'file');
  let mode = options.mode;
  let stdin: Buffer | Readable;
  let bytes = 0;
  if (typeof source === 'string') {
    const info = await stat(source);
    if (!info.isFile()) throw new SshConfigError(`${source} is not a regular file.`);
    mode ??= info.mode & 0o7777;
    bytes = info.size;
    stdin = createReadStream(source, { highWaterMark: 1024 * 1024 });
  } else {
    if (Buffer.isBuffer(source)) bytes = source.length;
    stdin = source;
  }
  mode ??= 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new SshConfigError(`File mode ${mode} is not a permission mode (0 to 07777).`);
  try {
    const result = await runCommand(
      session,
      { script: WRITE_FILE_SCRIPT, name: 'titan-write-file', args: [remotePath, mode.toString(8).padStart(4, '0')] },
      { stdin, timeoutMs: options.timeoutMs, signal: options.signal, captureStdout: false },
    );
    return { bytes, durationMs: result.durationMs };
  } finally {
    // Our own file stream is closed whatever happened (the caller's stream is the caller's).
    if (typeof source === 'string' && !Buffer.isBuffer(stdin)) stdin.destroy();
  }
}

/**
 * Uploads the tree under `localDir` into `remoteDir` (created if needed; existing files are
 * overwritten, others left alone) as one tar stream. Everything that cannot be archived is refused
 * before anything is sent.
 */
export async function uploadTree(
  session: CommandSession,
  localDir: string,
  remoteDir: string,
  options: UploadTreeOptions = {},
): Promise<TarTreeStats & { durationMs: number }> {
  checkRemotePath(remoteDir, 'directory');
  const entries = await scanTree(localDir, options);
  const archive = tarEntries(entries);
  try {
    const result = await runCommand(
      session,
      { script: UNPACK_TREE_SCRIPT, name: 'titan-unpack-tree', args: [remoteDir] },
      { stdin: archive, timeoutMs: options.timeoutMs, signal: options.signal, captureStdout: false },
    );
    return { ...treeStats(entries), durationMs: result.durationMs };
  } finally {
    archive.destroy(); // closes the file being read, if the remote side stopped early
  }
}
