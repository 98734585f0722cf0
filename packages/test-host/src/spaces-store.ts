/**
 * What the Spaces peer (spaces-peer.ts) keeps on disk, in s3rver's own layout below its folder:
 * `<bucket>/<key>._S3rver_object` for each stored object and `<bucket>/._S3rver_uploads/<uploadId>/`
 * for each multipart upload still open. The peer reads it to list stored keys and open uploads, to
 * abort an upload (s3rver does not implement AbortMultipartUpload) and to damage an object at rest.
 */
import { closeSync, existsSync, openSync, readSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const OBJECT_SUFFIX = '._S3rver_object';
const UPLOADS = '._S3rver_uploads';

export class SpacesStore {
  readonly #directory: string;

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** Flips `count` bytes of the stored object `key` from `offset` (kept inside the object). */
  corrupt(bucket: string, key: string, offset: number, count: number): void {
    const path = join(this.#directory, bucket, `${key}${OBJECT_SUFFIX}`);
    const size = statSync(path).size;
    const at = Math.min(Math.max(0, offset), Math.max(0, size - count));
    const fd = openSync(path, 'r+');
    try {
      const bytes = Buffer.alloc(Math.min(count, size));
      readSync(fd, bytes, 0, bytes.length, at);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
      writeSync(fd, bytes, 0, bytes.length, at);
    } finally {
      closeSync(fd);
    }
  }

  /** The ids of the multipart uploads still open in `bucket`, sorted. */
  pendingUploads(bucket: string): string[] {
    const dir = join(this.#directory, bucket, UPLOADS);
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  /** Removes the parts of upload `uploadId` as S3's abort does; false when there is no such upload. */
  removeUpload(bucket: string, uploadId: string): boolean {
    const dir = join(this.#directory, bucket, UPLOADS, uploadId);
    if (!/^[A-Za-z0-9_-]+$/.test(uploadId) || !existsSync(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  }

  /** Every key stored in `bucket`, sorted. */
  storedKeys(bucket: string): string[] {
    const keys: string[] = [];
    const walk = (dir: string, prefix: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === UPLOADS) continue;
        if (entry.isDirectory()) walk(join(dir, entry.name), `${prefix}${entry.name}/`);
        else if (entry.name.endsWith(OBJECT_SUFFIX)) keys.push(`${prefix}${entry.name.slice(0, -OBJECT_SUFFIX.length)}`);
      }
    };
    walk(join(this.#directory, bucket), '');
    return keys.sort();
  }
}
