/**
 * One backup object, streamed from its producer to Spaces with nothing stored in between:
 *
 *   producer ─▶ sha256 (plain) ─▶ age ─▶ sha256 (stored bytes) ─▶ commit gate ─▶ multipart upload
 *
 * The producer (a remote pg_dump, a Redis RDB, a JetStream snapshot) writes into `sink` and resolves
 * once its own success is known (the remote exit status checked). Only then does the commit gate let
 * the stream end and the upload complete; any failure of the producer aborts the multipart upload,
 * and any failure of the upload aborts the producer (its remote process group is killed). Memory
 * stays bounded by the upload's part buffers: backpressure runs from Spaces back to the remote host.
 */
import { type Readable, type Writable, pipeline } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import type { ObjectStore } from '@titan/spaces/object-store';
import { SpacesError } from '@titan/spaces/spaces-error';
import type { StoredObject } from './backup-manifest.js';
import { CommitGate } from './commit-gate.js';
import { type Encryption, encryptStream } from './encryption.js';
import { StreamDigest, formatBytes, formatRate, reportProgress } from './stream-digest.js';

export type { StoredObject };

export interface ObjectUploadRequest {
  readonly store: ObjectStore;
  readonly key: string;
  readonly encryption: Encryption;
  /** Writes the object into `sink` (ending it) and resolves when the data is known to be complete. */
  readonly produce: (sink: Writable, signal: AbortSignal) => Promise<void>;
  /** Shown in progress lines: `postgres titan`. */
  readonly label: string;
  readonly logger: Logger;
  readonly partSize?: number;
  readonly progressIntervalMs?: number;
  /** Aborting stops the producer and the upload. */
  readonly signal?: AbortSignal;
}

export async function uploadObject(request: ObjectUploadRequest): Promise<StoredObject> {
  const { logger, label } = request;
  const started = performance.now();
  const plain = new StreamDigest();
  const stored = new StreamDigest();
  const gate = new CommitGate();
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(request.signal?.reason);
  request.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const progress = reportProgress(plain, label, logger, request.progressIntervalMs);

  let encrypted: Readable;
  try {
    encrypted = await encryptStream(plain, request.encryption);
  } catch (error: unknown) {
    progress.stop();
    request.signal?.removeEventListener('abort', onOuterAbort);
    throw error;
  }
  pipeline(encrypted, stored, gate, () => undefined);

  // Which failure is the cause: a Spaces failure (a SpacesError from the upload) aborts the producer,
  // which then fails too; a producer failure errors the gate, so the upload fails with it.
  let producerFailure: { error: unknown } | undefined;
  let uploadFailure: { error: unknown } | undefined;
  const producing = request.produce(plain, abort.signal).then(
    () => {
      if (!plain.writableEnded) plain.end();
      gate.release();
    },
    (error: unknown) => {
      producerFailure = { error };
      gate.fail(error instanceof Error ? error : new Error(String(error)));
      if (!plain.destroyed) plain.destroy();
    },
  );
  const uploading = request.store.upload(request.key, gate, ...(request.partSize !== undefined ? [{ partSize: request.partSize }] : [])).then(
    (result) => result,
    (error: unknown) => {
      uploadFailure = { error };
      abort.abort(error);
      return undefined;
    },
  );
  const [, result] = await Promise.all([producing, uploading]);
  progress.stop();
  request.signal?.removeEventListener('abort', onOuterAbort);
  if (producerFailure !== undefined || uploadFailure !== undefined || result === undefined) {
    for (const stream of [plain, encrypted, stored, gate]) if (!stream.destroyed) stream.destroy();
    const cause = uploadFailure?.error instanceof SpacesError ? uploadFailure : (producerFailure ?? uploadFailure);
    const error = cause?.error;
    throw error instanceof Error ? error : new Error(`Uploading ${request.key} failed.`);
  }
  const durationMs = Math.round(performance.now() - started);
  const object: StoredObject = {
    key: request.key,
    size: stored.bytes,
    sha256: stored.sha256,
    plainSize: plain.bytes,
    plainSha256: plain.sha256,
    parts: result.parts,
    durationMs,
  };
  logger.info(`${label}: ${formatBytes(object.plainSize)} in ${(durationMs / 1000).toFixed(1)} s (${formatRate(object.plainSize, durationMs)}), stored as ${request.key} (${formatBytes(object.size)}, ${object.parts} part${object.parts === 1 ? '' : 's'}, sha256 ${object.sha256}).`);
  return object;
}
