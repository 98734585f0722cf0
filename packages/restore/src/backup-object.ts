/**
 * One object of a backup, read back from Spaces for use: streamed down, hashed (sha256 and size of
 * the stored bytes and of the plaintext), decrypted as it streams. `check()` compares both with the
 * manifest once the stream has ended; a restore commits nothing (no database swapped, no stream
 * built) before it passed. `explain()` says what is wrong with an object after a failure: it
 * reads the object once more and hashes it, so a damaged object is reported as such rather than as
 * whatever the consumer choked on.
 */
import { pipeline, type Readable } from 'node:stream';
import { pipeline as pipelineTo } from 'node:stream/promises';
import type { ManifestObject, BackupManifest } from '@titan/backup/backup-manifest';
import { decryptStream } from '@titan/backup/encryption';
import { StreamDigest } from '@titan/backup/stream-digest';
import type { ObjectStore } from '@titan/spaces/object-store';

export class BackupIntegrityError extends Error {
  override readonly name = 'BackupIntegrityError';
}

export interface OpenedObject {
  /** The plaintext, as it streams. */
  readonly plain: Readable;
  /** Throws BackupIntegrityError unless size and sha256 of the stored bytes and the plaintext match the manifest. */
  check(): void;
}

export async function openObject(store: ObjectStore, object: ManifestObject, encryption: BackupManifest['encryption'], identity: string | undefined): Promise<OpenedObject> {
  const { stream } = await store.download(object.key);
  const stored = new StreamDigest();
  pipeline(stream, stored, () => undefined);
  const decrypted = await decryptStream(stored, encryption, identity);
  const plain = new StreamDigest();
  pipeline(decrypted, plain, () => undefined);
  return {
    plain,
    check() {
      if (!stored.finished || !plain.finished) throw new BackupIntegrityError(`${object.key} was not read to its end.`);
      if (stored.bytes !== object.size || stored.sha256 !== object.sha256) {
        throw new BackupIntegrityError(`${object.key} is damaged: ${stored.bytes} bytes with sha256 ${stored.sha256}, the manifest says ${object.size} bytes with sha256 ${object.sha256}.`);
      }
      if (plain.bytes !== object.plainSize || plain.sha256 !== object.plainSha256) {
        throw new BackupIntegrityError(`${object.key} decrypts to ${plain.bytes} bytes with sha256 ${plain.sha256}, the manifest says ${object.plainSize} bytes with sha256 ${object.plainSha256}.`);
      }
    },
  };
}

/** After a failure: hashes the stored object again and says whether it matches the manifest. */
export async function explain(store: ObjectStore, object: ManifestObject): Promise<BackupIntegrityError | undefined> {
  try {
    const { stream } = await store.download(object.key);
    const digest = new StreamDigest();
    digest.resume();
    await pipelineTo(stream, digest);
    if (digest.bytes !== object.size || digest.sha256 !== object.sha256) {
      return new BackupIntegrityError(`${object.key} is damaged: ${digest.bytes} bytes with sha256 ${digest.sha256}, the manifest says ${object.size} bytes with sha256 ${object.sha256}.`);
    }
    return undefined;
  } catch (error: unknown) {
    return new BackupIntegrityError(`${object.key} cannot be read back: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads the object through to its end (decrypted, as a restore would) and checks it; nothing else is done with it. */
export async function verifyObject(store: ObjectStore, object: ManifestObject, encryption: BackupManifest['encryption'], identity: string | undefined): Promise<void> {
  try {
    const opened = await openObject(store, object, encryption, identity);
    opened.plain.resume();
    await new Promise<void>((resolve, reject) => {
      opened.plain.once('end', resolve);
      opened.plain.once('error', reject);
    });
    opened.check();
  } catch (error: unknown) {
    throw error instanceof BackupIntegrityError ? error : ((await explain(store, object)) ?? error);
  }
}
