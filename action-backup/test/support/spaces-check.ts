/**
 * What the backup tests check in the bucket: objects read back through the S3 API and hashed,
 * decrypted with the test's own identity, and the objects outside the prefix that no run may touch.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseBackupManifest, type BackupManifest } from '@titan/backup/backup-manifest';
import { decryptStream, type Encryption } from '@titan/backup/encryption';
import { ObjectStore } from '@titan/spaces/object-store';
import { createSpacesClient } from '@titan/spaces/spaces-client';
import type { SpacesPeer } from '@titan/test-host/spaces-peer';

export function storeOf(peer: SpacesPeer): ObjectStore {
  const client = createSpacesClient({
    endpoint: peer.endpoint,
    region: peer.region,
    forcePathStyle: true,
    credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
  });
  return new ObjectStore(client, peer.endpoint, peer.bucket);
}

export function spacesInputs(peer: SpacesPeer, prefix: string): Record<string, string> {
  return {
    'spaces-endpoint': peer.endpoint,
    'spaces-bucket': peer.bucket,
    'spaces-access-key': peer.accessKeyId,
    'spaces-secret-key': peer.secretAccessKey,
    'spaces-path-style': 'true',
    prefix,
  };
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export async function readManifest(store: ObjectStore, key: string): Promise<BackupManifest> {
  return parseBackupManifest(await store.getBytes(key), key);
}

export async function decrypted(bytes: Buffer, encryption: Encryption, identity: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await decryptStream(Readable.from([bytes]), encryption, identity)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Objects outside (and beside) the prefix; `unchanged()` says whether they are all still exactly there. */
export async function plantOutsiders(store: ObjectStore, prefix: string): Promise<{ keys: string[]; unchanged(): Promise<boolean> }> {
  const planted = new Map<string, string>([
    [`${prefix}-old/20250101T020000Z-aaaaaa/manifest.json`, 'a sibling prefix'],
    [`${prefix}/README.txt`, 'not a backup folder'],
    ['other/app/data.bin', 'another application'],
  ]);
  for (const [key, body] of planted) await store.putObject(key, Buffer.from(body));
  return {
    keys: [...planted.keys()],
    async unchanged() {
      for (const [key, body] of planted) {
        if (!(await store.exists(key))) return false;
        if ((await store.getBytes(key)).toString() !== body) return false;
      }
      return true;
    },
  };
}
