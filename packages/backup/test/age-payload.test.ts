/**
 * age files as the backup writes and reads them: the header from the age package, the payload with
 * Node's own ChaCha20-Poly1305 (src/age-payload.ts). What this writes, the age package decrypts to
 * the same bytes, and what the age package writes, this reads, for sizes around the 64 KiB chunk
 * boundaries; a changed byte, a cut-off chunk or a wrong identity is an error, never other data.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as age from 'age-encryption';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptStream, type Encryption, encryptStream } from '../src/encryption.js';

let identity: string;
let encryption: Encryption;

beforeAll(async () => {
  identity = await age.generateIdentity();
  encryption = { scheme: 'age', recipients: [await age.identityToRecipient(identity)] };
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `data` in two writes, split at a third, as a producer would write it. */
function source(data: Buffer): Readable {
  const cut = Math.floor(data.length / 3);
  return Readable.from([data.subarray(0, cut), data.subarray(cut)]);
}

const CHUNK = 64 * 1024;

describe('age encryption', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 5_000_000]) {
    it(`${size} bytes: the age package decrypts what is written, and what it writes is read`, async () => {
      const data = randomBytes(size);
      const written = await readAll(await encryptStream(source(data), encryption));
      const decrypter = new age.Decrypter();
      decrypter.addIdentity(identity);
      expect(Buffer.from(await decrypter.decrypt(written)).equals(data)).toBe(true);
      // Overhead: the header, the 16-byte nonce and a 16-byte tag per chunk (one chunk for an empty file).
      expect(written.length - size).toBeGreaterThan(16 + 16 * Math.max(1, Math.ceil(size / CHUNK)));
      const encrypter = new age.Encrypter();
      for (const recipient of encryption.scheme === 'age' ? encryption.recipients : []) encrypter.addRecipient(recipient);
      const theirs = Buffer.from(await encrypter.encrypt(data));
      for (const file of [written, theirs]) {
        const read = await readAll(await decryptStream(Readable.from([file.subarray(0, 7), file.subarray(7)]), encryption, identity));
        expect(read.equals(data)).toBe(true);
      }
    });
  }

  it('a changed byte, a dropped last chunk or a wrong identity fails; nothing else is returned', async () => {
    const data = randomBytes(4 * CHUNK + 100);
    const written = await readAll(await encryptStream(source(data), encryption));
    const damaged = Buffer.from(written);
    damaged[damaged.length - 50] = (damaged[damaged.length - 50] ?? 0) ^ 1;
    await expect(readAll(await decryptStream(Readable.from([damaged]), encryption, identity))).rejects.toThrow(/chunk 4 of the payload fails authentication/);
    const cut = written.subarray(0, written.length - (100 + 16));
    await expect(readAll(await decryptStream(Readable.from([cut]), encryption, identity))).rejects.toThrow(/chunk 3 of the payload fails authentication/);
    await expect(decryptStream(Readable.from([written.subarray(0, 40)]), encryption, identity)).rejects.toThrow(/ends inside the age header/);
    const other = await age.generateIdentity();
    await expect(decryptStream(Readable.from([written]), encryption, other)).rejects.toThrow(/cannot be decrypted with the given identity/);
  });
});
