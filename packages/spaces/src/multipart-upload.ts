/**
 * A stream of unknown length uploaded to one key with S3's multipart upload, in bounded memory:
 *
 *   - the stream is read into part buffers of a small fixed pool (`queueSize + 1` buffers of
 *     `partSize` bytes, made on first use and reused for every later part): memory held does not
 *     grow with the object, and no part buffer is left for the garbage collector to find;
 *   - S3 takes at most 10,000 parts: the part size doubles after every `partsPerSize` parts (2,000
 *     by default), so a 5 MiB start holds 302 GiB (5 + 10 + 20 + 40 + 80 MiB x 2,000) and memory
 *     grows only for an object past the first 2,000 parts (9.8 GiB at 5 MiB); the smaller buffers
 *     are dropped as they come back;
 *   - a full buffer is sent as the next part (UploadPart, its Content-MD5 checked by the store, the
 *     client's retries) while the next one fills; with every buffer in flight, reading stops, so
 *     backpressure runs from the store back to the producer;
 *   - an object smaller than one part is one PutObject;
 *   - CompleteMultipartUpload only once the stream ended normally and every part was stored; on any
 *     failure (the stream errored, a part kept failing, Complete refused) the multipart upload is
 *     aborted, so no half object and no orphaned parts are left.
 *
 * A failure of the stream itself is rethrown as it is (the producer's error); a failure of the store
 * is a SpacesError naming the operation, endpoint, bucket and key.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SpacesError, type SpacesWhere, spacesError } from './spaces-error.js';

export interface MultipartTarget {
  readonly client: S3Client;
  readonly where: SpacesWhere & { readonly key: string };
  readonly contentType: string;
  /** Bytes of each of the first `partsPerSize` parts. */
  readonly partSize: number;
  /** Parts in flight at once. */
  readonly queueSize: number;
  /** The part size doubles after every this many parts (default 2,000). */
  readonly partsPerSize?: number;
}

/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;
const PARTS_PER_SIZE = 2_000;

/**
 * `count` buffers of `size` bytes, made when first needed; `take()` waits while all are in use.
 * `grow()` doubles the size: buffers of the old size are dropped as they come back.
 */
class PartBuffers {
  #size: number;
  readonly #count: number;
  readonly #free: Buffer[] = [];
  readonly #waiting: ((buffer: Buffer) => void)[] = [];
  #made = 0;

  constructor(size: number, count: number) {
    this.#size = size;
    this.#count = count;
  }

  grow(): void {
    this.#size *= 2;
    this.#made -= this.#free.length;
    this.#free.length = 0;
  }

  take(): Promise<Buffer> {
    const free = this.#free.pop();
    if (free !== undefined) return Promise.resolve(free);
    if (this.#made < this.#count) {
      this.#made += 1;
      return Promise.resolve(Buffer.allocUnsafeSlow(this.#size));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  give(buffer: Buffer): void {
    if (buffer.length !== this.#size) {
      // A buffer of the old size: dropped; a waiter gets a new one of the new size instead.
      this.#made -= 1;
      const next = this.#waiting.shift();
      if (next === undefined) return;
      this.#made += 1;
      next(Buffer.allocUnsafeSlow(this.#size));
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(buffer);
    else this.#free.push(buffer);
  }
}

/** Uploads `body` to the target's key; resolves with the number of parts (1 for a single PUT). */
export async function uploadStream(target: MultipartTarget, body: Readable): Promise<number> {
  const { client, where } = target;
  const partsPerSize = target.partsPerSize ?? PARTS_PER_SIZE;
  const { bucket: Bucket, key: Key } = where;
  const operation = `Uploading ${Key}`;
  const buffers = new PartBuffers(target.partSize, target.queueSize + 1);
  const inFlight = new Set<Promise<void>>();
  const stored: CompletedPart[] = [];
  let storeFailure: { error: unknown } | undefined;
  let uploadId: string | undefined;
  let parts = 0;

  const sendPart = (buffer: Buffer, length: number, id: string): void => {
    if (parts >= MAX_PARTS) throw new SpacesError(`${operation}: the object is larger than S3's ${MAX_PARTS} parts hold (the last part ${buffer.length} bytes).`, 'other');
    parts += 1;
    const PartNumber = parts;
    const sending: Promise<void> = client
      .send(new UploadPartCommand({ Bucket, Key, UploadId: id, PartNumber, Body: buffer.subarray(0, length), ContentLength: length }))
      .then(
        (answer) => void stored.push({ PartNumber, ETag: answer.ETag }),
        (error: unknown) => void (storeFailure ??= { error }),
      )
      .finally(() => {
        inFlight.delete(sending);
        buffers.give(buffer);
      });
    inFlight.add(sending);
  };
  const start = async (): Promise<string> => {
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: target.contentType }));
    if (created.UploadId === undefined) throw new SpacesError(`${operation}: the store started a multipart upload without an upload id.`, 'other');
    return created.UploadId;
  };

  let current = await buffers.take();
  let filled = 0;
  try {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length; ) {
          const copied = chunk.copy(current, filled, offset);
          filled += copied;
          offset += copied;
          if (filled < current.length) continue;
          uploadId ??= await start();
          sendPart(current, filled, uploadId);
          if (parts % partsPerSize === 0) buffers.grow();
          current = await buffers.take();
          filled = 0;
          if (storeFailure !== undefined) throw storeFailure.error;
        }
      }
    } catch (error: unknown) {
      if (storeFailure === undefined && !isStreamError(body, error)) storeFailure = { error };
      throw error;
    }
    if (uploadId === undefined) {
      await client.send(new PutObjectCommand({ Bucket, Key, Body: current.subarray(0, filled), ContentLength: filled, ContentType: target.contentType }));
      return 1;
    }
    if (filled > 0) sendPart(current, filled, uploadId);
    await Promise.all(inFlight);
    if (storeFailure !== undefined) throw storeFailure.error;
    stored.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: stored } }));
    return parts;
  } catch (error: unknown) {
    await Promise.all(inFlight);
    const failure = isStreamError(body, error) && storeFailure === undefined ? error : spacesError(storeFailure?.error ?? error, operation, where);
    if (uploadId === undefined) throw failure;
    const notAborted = await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).then(
      () => undefined,
      (abortError: unknown) => spacesError(abortError, `Aborting the multipart upload of ${Key}`, where),
    );
    if (notAborted === undefined) throw failure;
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new SpacesError(`${message} ${notAborted.message} Its parts stay in the bucket until aborted (upload id ${uploadId}).`, failure instanceof SpacesError ? failure.problem : 'other', undefined, { cause: failure });
  }
}

/** The error is the body's own (its producer failed), not the store's. */
function isStreamError(body: Readable, error: unknown): boolean {
  return body.errored !== null && body.errored === error;
}
