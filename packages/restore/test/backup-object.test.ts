/**
 * Objects read back for a restore, against the real S3 peer: a whole one passes its check; one damaged
 * at rest (bytes flipped on the store's disk) is caught, encrypted (age refuses the chunk) or not (its
 * sha256), and explained as damaged with both hashes; the comparison of restored tables.
 */
import type { Readable, Writable } from 'node:stream';
import * as age from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { ManifestObject } from '@titan/backup/backup-manifest';
import type { Encryption } from '@titan/backup/encryption';
import { uploadObject } from '@titan/backup/object-upload';
import { silentLogger } from '@titan/log/logger';
import { ObjectStore } from '@titan/spaces/object-store';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import { type SpacesPeer, startSpacesPeer } from '@titan/test-host/spaces-peer';
import { explain, openObject } from '../src/backup-object.js';
import { checksumSpec, compareTables } from '../src/postgres-proof.js';

let peer: SpacesPeer;
let store: ObjectStore;

beforeAll(async () => {
  peer = await startSpacesPeer();
  store = new ObjectStore(
    createSpacesClient({ endpoint: peer.endpoint, region: peer.region, forcePathStyle: true, credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey } }),
    peer.endpoint,
    peer.bucket,
  );
});
afterAll(async () => peer.close());

async function stored(key: string, data: Buffer, encryption: Encryption): Promise<ManifestObject> {
  const produce = async (sink: Writable): Promise<void> => {
    await new Promise<void>((resolve, reject) => sink.end(data, (error?: Error | null) => (error ? reject(error) : resolve())));
  };
  const object = await uploadObject({ store, key, encryption, produce, label: key, logger: silentLogger });
  return { part: 'postgres', name: 'titan', ...object };
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('objects read back', () => {
  it('a whole object decrypts to what was stored and passes its check', async () => {
    const identity = await age.generateIdentity();
    const encryption: Encryption = { scheme: 'age', recipients: [await age.identityToRecipient(identity)] };
    const data = randomBytes(3 * 1024 * 1024);
    const object = await stored('nightly/20261201T020000Z-aaaaaa/postgres/titan.dump.age', data, encryption);
    const opened = await openObject(store, object, encryption, identity);
    expect((await drain(opened.plain)).equals(data)).toBe(true);
    expect(() => opened.check()).not.toThrow();
    expect(await explain(store, object)).toBeUndefined();
  });

  it('an encrypted object damaged at rest fails to decrypt, and is explained as damaged', async () => {
    const identity = await age.generateIdentity();
    const encryption: Encryption = { scheme: 'age', recipients: [await age.identityToRecipient(identity)] };
    const object = await stored('nightly/20261201T020000Z-bbbbbb/postgres/titan.dump.age', randomBytes(2 * 1024 * 1024), encryption);
    peer.corrupt(object.key, 1024 * 1024);
    const opened = await openObject(store, object, encryption, identity);
    await expect(drain(opened.plain)).rejects.toThrow();
    const why = await explain(store, object);
    expect(why?.message).toMatch(new RegExp(`${object.key} is damaged: ${object.size} bytes with sha256 [0-9a-f]{64}, the manifest says ${object.size} bytes with sha256 ${object.sha256}`));
  });

  it('an unencrypted object damaged at rest is caught by its sha256 before it is trusted', async () => {
    const encryption: Encryption = { scheme: 'none' };
    const object = await stored('nightly/20261201T020000Z-cccccc/postgres/titan.dump', randomBytes(1024 * 1024), encryption);
    peer.corrupt(object.key, 4096, 1);
    const opened = await openObject(store, object, encryption, undefined);
    await drain(opened.plain);
    expect(() => opened.check()).toThrow(/is damaged: .* the manifest says/);
  });

  it('a wrong identity is refused before a byte comes out', async () => {
    const encryption: Encryption = { scheme: 'age', recipients: [await age.identityToRecipient(await age.generateIdentity())] };
    const object = await stored('nightly/20261201T020000Z-dddddd/postgres/titan.dump.age', randomBytes(1024), encryption);
    const wrong = await age.generateIdentity();
    const error = await openObject(store, object, encryption, wrong).catch((e: unknown) => e);
    expect(String(error)).toMatch(/cannot be decrypted with the given identity/);
    expect(String(error).includes(wrong)).toBe(false);
  });

  it('compares restored tables with the recorded facts', () => {
    const expected = [
      { name: 'public.a', rows: 3, checksum: '10' },
      { name: 'public.b', rows: 5, checksum: null },
      { name: 'public.c', rows: 1, checksum: '7' },
    ];
    const checks = compareTables(expected, [
      { name: 'public.a', rows: 3, checksum: '10' },
      { name: 'public.b', rows: 5, checksum: '99' },
      { name: 'public.c', rows: 1, checksum: '8' },
    ]);
    expect(checks.map((c) => c.ok)).toEqual([true, true, false]);
    expect(compareTables(expected, [])[0]).toMatchObject({ rows: null, ok: false });
    expect(checksumSpec(expected)).toBe('public.a,public.c');
    expect(checksumSpec(expected.map((t) => ({ ...t, checksum: '1' })))).toBe('*');
  });
});

