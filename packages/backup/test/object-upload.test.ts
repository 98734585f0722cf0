/**
 * One object streamed to a real S3 peer (s3rver behind the Spaces front): read back and compared by
 * sha256, decrypted with the identity, and the failures: a producer that breaks off half-way, a part
 * that keeps failing with 500, a part that fails once with 503 (retried), a missing bucket.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as age from 'age-encryption';
import { recordingLogger } from '@titan/log/logger';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import { ObjectStore } from '@titan/spaces/object-store';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { decryptStream, type Encryption } from '../src/encryption.js';
import { uploadObject } from '../src/object-upload.js';

let peer: SpacesPeer;
let store: ObjectStore;
let identity: string;
let encryption: Encryption;

function storeFor(bucket: string, maxAttempts = 3): ObjectStore {
  const client = createSpacesClient({
    endpoint: peer.endpoint,
    region: peer.region,
    forcePathStyle: true,
    credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
    maxAttempts,
  });
  return new ObjectStore(client, peer.endpoint, bucket);
}

beforeAll(async () => {
  peer = await startSpacesPeer();
  store = storeFor(peer.bucket);
  identity = await age.generateIdentity();
  encryption = { scheme: 'age', recipients: [await age.identityToRecipient(identity)] };
});
afterAll(async () => peer.close());
beforeEach(() => peer.clearFaults());

/** A producer writing `data` in 64 KiB writes, failing after `failAfter` bytes if given. */
function producerOf(data: Buffer, failAfter?: number): (sink: Writable, signal: AbortSignal) => Promise<void> {
  return (sink, signal) =>
    new Promise((resolve, reject) => {
      let offset = 0;
      // Like a remote command killed on abort: stop at once, even while waiting for the sink to drain.
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      const write = (): void => {
        while (offset < data.length) {
          if (signal.aborted) {
            reject(new Error('aborted'));
            return;
          }
          if (failAfter !== undefined && offset >= failAfter) {
            reject(new Error('pg_dump: terminated by signal 9'));
            return;
          }
          const chunk = data.subarray(offset, offset + 65536);
          offset += chunk.length;
          if (!sink.write(chunk)) {
            sink.once('drain', write);
            return;
          }
        }
        sink.end();
        resolve();
      };
      write();
    });
}

async function readBack(key: string): Promise<Buffer> {
  return store.getBytes(key, 256 * 1024 * 1024);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('uploadObject', () => {
  it('streams 20 MiB encrypted in Content-MD5 checked parts; the stored bytes and the plaintext match their sha256', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const logger = recordingLogger();
    const before = peer.requests.length;
    const object = await uploadObject({ store, key: 'nightly/a/postgres.dump.age', encryption, produce: producerOf(data), label: 'postgres', logger, progressIntervalMs: 100 });
    const stored = await readBack(object.key);
    expect(object.size).toBe(stored.length);
    expect(object.sha256).toBe(sha(stored));
    expect(object.plainSha256).toBe(sha(data));
    expect(object.plainSize).toBe(data.length);
    // The default 5 MiB parts: 20 MiB and age's overhead are four full parts and a short fifth.
    expect(object.parts).toBe(5);
    expect(Math.ceil(stored.length / (5 * 1024 * 1024))).toBe(5);
    expect(peer.pendingUploads()).toEqual([]);
    const parts = peer.requests.slice(before).filter((r) => r.partNumber !== undefined);
    expect(parts.map((p) => p.partNumber).sort()).toEqual([1, 2, 3, 4, 5]);
    const part = 5 * 1024 * 1024;
    expect([...parts].sort((x, y) => (x.partNumber ?? 0) - (y.partNumber ?? 0)).map((p) => p.bytes)).toEqual([part, part, part, part, stored.length - 4 * part]);
    expect(parts.every((p) => p.md5Matched === true)).toBe(true);
    const plain = await decryptStream(Readable.from([stored]), encryption, identity);
    const chunks: Buffer[] = [];
    for await (const c of plain) chunks.push(c as Buffer);
    expect(sha(Buffer.concat(chunks))).toBe(sha(data));
    expect(logger.text()).toContain('stored as nightly/a/postgres.dump.age');
  });

  it('a producer that breaks off half-way aborts the multipart upload: no object, the producer error', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const before = peer.requests.length;
    await expect(
      uploadObject({ store, key: 'nightly/b/postgres.dump.age', encryption, produce: producerOf(data, 18 * 1024 * 1024), label: 'postgres', logger: recordingLogger() }),
    ).rejects.toThrow('pg_dump: terminated by signal 9');
    expect(await store.exists('nightly/b/postgres.dump.age')).toBe(false);
    const seen = peer.requests.slice(before);
    expect(seen.some((r) => r.method === 'DELETE' && r.query['uploadId'] !== undefined)).toBe(true);
    expect(seen.some((r) => r.method === 'POST' && r.query['uploadId'] !== undefined)).toBe(false);
    expect(peer.pendingUploads()).toEqual([]);
  });

  it('a part that fails once with 503 is sent again and the object is whole', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    peer.failNext({ when: (r) => r.partNumber === 2, status: 503 });
    const before = peer.requests.length;
    const object = await uploadObject({ store, key: 'nightly/c/redis.rdb.age', encryption, produce: producerOf(data), label: 'redis', logger: recordingLogger() });
    expect(sha(await readBack(object.key))).toBe(object.sha256);
    const part2 = peer.requests.slice(before).filter((r) => r.partNumber === 2);
    expect(part2.map((r) => r.status)).toEqual([503, 200]);
  });

  it('a part that keeps failing with 500 fails the upload naming Spaces, aborts it and stops the producer', async () => {
    peer.failNext({ when: (r) => r.partNumber === 2, status: 500, times: 10 });
    // A producer that never ends by itself (a live dump): only the abort can stop it.
    let stopped = false;
    const chunk = randomBytes(65536);
    const endless = (sink: Writable, signal: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          stopped = true;
          reject(new Error('aborted'));
        }, { once: true });
        const write = (): void => {
          while (!signal.aborted && sink.write(chunk)) {
            // keep writing until the sink is full
          }
          if (!signal.aborted) sink.once('drain', write);
        };
        write();
      });
    await expect(uploadObject({ store, key: 'nightly/d/postgres.dump.age', encryption, produce: endless, label: 'postgres', logger: recordingLogger() })).rejects.toThrow(
      /kept failing .*HTTP 500 InternalError after 3 attempts/,
    );
    expect(stopped).toBe(true);
    expect(await store.exists('nightly/d/postgres.dump.age')).toBe(false);
    expect(peer.pendingUploads()).toEqual([]);
  });

  it('a missing bucket fails with the bucket named', async () => {
    await expect(
      uploadObject({ store: storeFor('no-such-bucket'), key: 'nightly/e/x.age', encryption, produce: producerOf(randomBytes(1024)), label: 'x', logger: recordingLogger() }),
    ).rejects.toThrow(/bucket no-such-bucket does not exist/);
  });
});
