/**
 * One bucket as the backup sees it: put a small object, stream a large one up (multipart-upload.ts:
 * every part checked by the store with its Content-MD5, aborted on any failure so no half object stays),
 * stream one down, list under a prefix, delete keys under a prefix. Every failure is a SpacesError
 * naming the operation, endpoint, bucket and key.
 *
 * Deleting is scoped: `deleteKeys(keys, scope)` refuses (before sending anything) a key that does not
 * start with `scope`, so retention can never touch an object outside its prefix.
 */
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uploadStream } from './multipart-upload.js';
import { SpacesError, spacesError } from './spaces-error.js';

export interface StoredEntry {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date | undefined;
}

export interface UploadOptions {
  /** Bytes of each of the first 2,000 parts (default and minimum 5 MiB, S3's minimum); the size doubles after every 2,000 parts. */
  readonly partSize?: number;
  /** Parts in flight at once (default 2). Memory held for parts: partSize × (queueSize + 1) up to 2,000 parts (9.8 GiB at 5 MiB), twice that up to 4,000, and so on. */
  readonly queueSize?: number;
  /** The part size doubles after every this many parts (default 2,000; for tests). */
  readonly partsPerSize?: number;
  readonly contentType?: string;
}

export interface UploadResult {
  readonly key: string;
  /** Parts sent (1 when the object was small enough for one PUT). */
  readonly parts: number;
}

export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 2;
/** S3's smallest part (all but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const DELETE_BATCH = 1000;

export class ObjectStore {
  readonly client: S3Client;
  readonly endpoint: string;
  readonly bucket: string;

  constructor(client: S3Client, endpoint: string, bucket: string) {
    this.client = client;
    this.endpoint = endpoint;
    this.bucket = bucket;
  }

  #where(key?: string): { endpoint: string; bucket: string; key?: string } {
    return key === undefined ? { endpoint: this.endpoint, bucket: this.bucket } : { endpoint: this.endpoint, bucket: this.bucket, key };
  }

  /** The bucket exists and the credentials may use it (HEAD bucket). */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error: unknown) {
      throw spacesError(error, 'Checking the bucket', this.#where());
    }
  }

  async putObject(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length }));
    } catch (error: unknown) {
      throw spacesError(error, `Uploading ${key}`, this.#where(key));
    }
  }

  /**
   * Streams `body` to `key` (multipart-upload.ts: a fixed pool of part buffers, every part checked
   * by its Content-MD5). The object exists only if the stream ends normally and every part was
   * stored; when the stream fails (destroyed with an error: that error is rethrown) or a part keeps
   * failing, the multipart upload is aborted and this rejects.
   */
  async upload(key: string, body: Readable, options: UploadOptions = {}): Promise<UploadResult> {
    const parts = await uploadStream(
      {
        client: this.client,
        where: { endpoint: this.endpoint, bucket: this.bucket, key },
        contentType: options.contentType ?? 'application/octet-stream',
        partSize: Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE),
        queueSize: Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE),
        ...(options.partsPerSize !== undefined ? { partsPerSize: Math.max(1, options.partsPerSize) } : {}),
      },
      body,
    );
    return { key, parts };
  }

  /** The object as a stream, and its size. */
  async download(key: string): Promise<{ stream: Readable; size: number }> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = response.Body as Readable | undefined;
      if (body === undefined) throw new SpacesError(`Downloading ${key}: the store sent no body.`, 'other');
      return { stream: body, size: response.ContentLength ?? -1 };
    } catch (error: unknown) {
      throw spacesError(error, `Downloading ${key}`, this.#where(key));
    }
  }

  /** A small object, whole; more than `maxBytes` is an error. */
  async getBytes(key: string, maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
    const { stream } = await this.download(key);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of stream) {
        const bytes = chunk as Buffer;
        total += bytes.length;
        if (total > maxBytes) {
          stream.destroy();
          throw new SpacesError(`${key} is larger than ${maxBytes} bytes.`, 'other');
        }
        chunks.push(bytes);
      }
    } catch (error: unknown) {
      throw spacesError(error, `Downloading ${key}`, this.#where(key));
    }
    return Buffer.concat(chunks);
  }

  /** True when `key` exists. */
  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error: unknown) {
      const failure = spacesError(error, `Looking up ${key}`, this.#where(key));
      if (failure.problem === 'missing-object') return false;
      throw failure;
    }
  }

  /** Every object whose key starts with `prefix`, in key order. */
  async list(prefix: string): Promise<StoredEntry[]> {
    const entries: StoredEntry[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const item of page.Contents ?? []) {
          if (item.Key !== undefined && item.Key.startsWith(prefix)) entries.push({ key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } catch (error: unknown) {
        throw spacesError(error, `Listing ${prefix}`, this.#where());
      }
    } while (token !== undefined);
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Deletes `keys`, every one of which must start with `scope` (checked before anything is sent). */
  async deleteKeys(keys: readonly string[], scope: string): Promise<void> {
    if (scope === '') throw new SpacesError('Refusing to delete with an empty scope prefix.', 'other');
    const outside = keys.filter((key) => !key.startsWith(scope));
    if (outside.length > 0) {
      throw new SpacesError(`Refusing to delete ${outside.length} key(s) outside ${scope} (first: ${outside[0] ?? ''}); nothing was deleted.`, 'other');
    }
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let errors: { Key?: string; Code?: string; Message?: string }[];
      try {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        errors = result.Errors ?? [];
      } catch (error: unknown) {
        throw spacesError(error, `Deleting ${batch.length} object(s) under ${scope}`, this.#where());
      }
      if (errors.length > 0) {
        const first = errors[0];
        throw new SpacesError(`Deleting under ${scope}: ${errors.length} object(s) were not deleted (first: ${first?.Key ?? '?'}: ${first?.Code ?? ''} ${first?.Message ?? ''}).`, 'other');
      }
    }
  }
}
