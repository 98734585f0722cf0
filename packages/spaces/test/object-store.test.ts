/**
 * The bucket against a real S3 peer (s3rver behind the Spaces front): what an operator reads when the
 * key, the bucket or the endpoint is wrong, listing under a prefix, and deletes that can never reach
 * outside their scope.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { ObjectStore } from '../src/object-store.js';
import { createSpacesClient } from '../src/spaces-client.js';
import { SpacesError } from '../src/spaces-error.js';

let peer: SpacesPeer;

function storeOf(options: { endpoint?: string; bucket?: string; accessKeyId?: string } = {}): ObjectStore {
  const endpoint = options.endpoint ?? peer.endpoint;
  const client = createSpacesClient({
    endpoint,
    region: peer.region,
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId ?? peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
    maxAttempts: 2,
    connectionTimeoutMs: 2000,
  });
  return new ObjectStore(client, endpoint, options.bucket ?? peer.bucket);
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  peer = await startSpacesPeer();
});
afterAll(async () => peer.close());

describe('ObjectStore', () => {
  it('puts, lists under a prefix only, reads back and checks Content-MD5 on the way', async () => {
    const store = storeOf();
    await store.putObject('nightly/one/a', Buffer.from('first'));
    await store.putObject('nightly/one/b', Buffer.from('second'));
    await store.putObject('nightly-old/x', Buffer.from('sibling'));
    const listed = await store.list('nightly/');
    expect(listed.map((e) => e.key)).toEqual(['nightly/one/a', 'nightly/one/b']);
    expect(listed.map((e) => e.size)).toEqual([5, 6]);
    expect((await store.getBytes('nightly/one/b')).toString()).toBe('second');
    const puts = peer.requests.filter((r) => r.method === 'PUT' && r.key.startsWith('nightly'));
    expect(puts.length).toBe(3);
    expect(puts.every((r) => r.md5Matched === true)).toBe(true);
    expect(await store.exists('nightly/one/a')).toBe(true);
    expect(await store.exists('nightly/one/zzz')).toBe(false);
  });

  it('refuses to delete anything outside its scope, before sending a request', async () => {
    const store = storeOf();
    const before = peer.requests.length;
    await expect(store.deleteKeys(['nightly/one/a', 'nightly-old/x'], 'nightly/')).rejects.toThrow(/Refusing to delete 1 key\(s\) outside nightly\/ \(first: nightly-old\/x\)/);
    expect(peer.requests.length).toBe(before);
    await store.deleteKeys(['nightly/one/a'], 'nightly/');
    expect(peer.storedKeys()).toEqual(['nightly-old/x', 'nightly/one/b']);
  });

  it('a wrong access key: the credentials are named as the problem', async () => {
    const error = await storeOf({ accessKeyId: 'WRONGKEY' }).checkBucket().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpacesError);
    expect((error as SpacesError).problem).toBe('credentials');
    expect((error as SpacesError).message).toMatch(/refused the credentials for bucket titan-backups .*check spaces-access-key and spaces-secret-key/);
    await expect(storeOf({ accessKeyId: 'WRONGKEY' }).putObject('nightly/x', Buffer.from('x'))).rejects.toThrow(/InvalidAccessKeyId/);
  });

  it('a missing bucket is named', async () => {
    const error = await storeOf({ bucket: 'missing-bucket' }).checkBucket().catch((e: unknown) => e);
    expect((error as SpacesError).problem).toBe('bucket');
    expect((error as SpacesError).message).toContain(`the bucket missing-bucket does not exist at ${peer.endpoint}`);
  });

  it('an endpoint nothing answers on says so', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const error = await storeOf({ endpoint }).checkBucket().catch((e: unknown) => e);
    expect((error as SpacesError).problem).toBe('endpoint');
    expect((error as SpacesError).message).toContain(`cannot reach ${endpoint} (ECONNREFUSED`);
  });
  it('streams in parts of the chosen size (the last one short, never an empty one); under one part, one PUT; each read back whole', async () => {
    const store = storeOf();
    const part = 5 * 1024 * 1024;
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    for (const [name, size, parts] of [['exact', 2 * part, 2], ['longer', 2 * part + 1, 3], ['small', 1000, 1], ['empty', 0, 1]] as const) {
      const data = randomBytes(size);
      const before = peer.requests.length;
      // Writes of 64 KiB, as the backup's streams come.
      const chunks = Array.from({ length: Math.ceil(size / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
      const result = await store.upload(`streamed/${name}`, Readable.from(chunks), { partSize: part, queueSize: 2 });
      expect(result.parts).toBe(parts);
      const back = await store.getBytes(`streamed/${name}`, 32 * 1024 * 1024);
      expect(sha(back)).toBe(sha(data));
      const sent = peer.requests.slice(before).filter((r) => r.method === 'PUT' && r.key === `streamed/${name}`);
      expect(sent.map((r) => r.partNumber ?? 0).sort()).toEqual(parts === 1 ? [0] : Array.from({ length: parts }, (_, i) => i + 1));
      expect(sent.every((r) => size === 0 || r.md5Matched === true)).toBe(true);
    }
    expect(peer.pendingUploads()).toEqual([]);
  });
  it('doubles the part size after every partsPerSize parts (S3 takes 10,000 parts at most); the object read back whole', async () => {
    const store = storeOf();
    const part = 5 * 1024 * 1024;
    const data = randomBytes(7 * part + 12345);
    const before = peer.requests.length;
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const result = await store.upload('streamed/growing', Readable.from(chunks), { partSize: part, queueSize: 2, partsPerSize: 2 });
    const sent = peer.requests.slice(before).filter((r) => r.method === 'PUT' && r.key === 'streamed/growing').sort((a, b) => (a.partNumber ?? 0) - (b.partNumber ?? 0));
    // 5, 5, 10, 10 MiB, then the rest (7 x 5 MiB + 12345 - 30 MiB) in a part of up to 20 MiB.
    expect(sent.map((r) => r.bytes)).toEqual([part, part, 2 * part, 2 * part, data.length - 6 * part]);
    expect(result.parts).toBe(5);
    expect(sent.every((r) => r.md5Matched === true)).toBe(true);
    const back = await store.getBytes('streamed/growing', 64 * 1024 * 1024);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(peer.pendingUploads()).toEqual([]);
  });
});
