import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateReleaseKey,
  parsePublicKey,
  parseReleaseKey,
  publicKeyFromPem,
  publicKeyToBase64,
  publicKeyToDer,
  publicKeyToPem,
  releaseKeyId,
} from '@titan/release/release-key';
import { findSigningKey, signManifest } from '@titan/release/manifest-signature';
import { scratch } from './release-fixture.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await scratch()));
afterAll(async () => cleanup());

describe('parseReleaseKey', () => {
  it('takes a base64 32-byte seed and a base64 64-byte tweetnacl secret key to the same key', () => {
    const seed = nacl.randomBytes(32);
    const pair = nacl.sign.keyPair.fromSeed(seed);
    const fromSeed = parseReleaseKey(Buffer.from(seed).toString('base64'));
    const fromSecret = parseReleaseKey(`${Buffer.from(pair.secretKey).toString('base64')}\n`);
    expect(Buffer.from(fromSeed.publicKey).equals(Buffer.from(pair.publicKey))).toBe(true);
    expect(Buffer.from(fromSecret.secretKey).equals(Buffer.from(pair.secretKey))).toBe(true);
  });

  it('refuses malformed keys without quoting them', () => {
    const seed = Buffer.from(nacl.randomBytes(32)).toString('base64');
    const cases: [string, RegExp][] = [
      ['', /is empty/],
      ['not base64!!', /not valid base64/],
      [Buffer.from(nacl.randomBytes(16)).toString('base64'), /decodes to 16 bytes; expected base64 of a 32-byte Ed25519 seed/],
      [`${seed.slice(0, -1)}`, /not valid base64/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseReleaseKey(text);
      } catch (e: unknown) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
      if (text.length > 4) expect((error as Error).message).not.toContain(text);
    }
    const pair = nacl.sign.keyPair();
    const tampered = Buffer.from(pair.secretKey);
    tampered[40] = (tampered[40] ?? 0) ^ 1;
    expect(() => parseReleaseKey(tampered.toString('base64'))).toThrow(/second half is not the public key of its first half/);
  });
});

describe('public keys', () => {
  it('converts a raw key to the DER and PEM that OpenSSL reads as the same Ed25519 key', async () => {
    const key = generateReleaseKey();
    const der = publicKeyToDer(key.publicKey);
    expect(der.subarray(0, 12).toString('hex')).toBe('302a300506032b6570032100');
    await writeFile(join(dir, 'pub.der'), der);
    const opensslPem = execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(dir, 'pub.der')], { encoding: 'utf8' });
    expect(publicKeyToPem(key.publicKey)).toBe(opensslPem);
    expect(Buffer.from(publicKeyFromPem(opensslPem)).equals(Buffer.from(key.publicKey))).toBe(true);
    expect(Buffer.from(parsePublicKey(opensslPem)).equals(Buffer.from(key.publicKey))).toBe(true);
    expect(Buffer.from(parsePublicKey(publicKeyToBase64(key.publicKey))).equals(Buffer.from(key.publicKey))).toBe(true);
  });

  it('makes signatures that OpenSSL verifies, and that fail for another key or changed bytes', async () => {
    const key = generateReleaseKey();
    const other = generateReleaseKey();
    const message = Buffer.from('{"a":1}');
    const signature = signManifest(message, key);
    await writeFile(join(dir, 'm.json'), message);
    await writeFile(join(dir, 'm.sig'), signature);
    await writeFile(join(dir, 'k.pem'), publicKeyToPem(key.publicKey));
    await writeFile(join(dir, 'o.pem'), publicKeyToPem(other.publicKey));
    const verify = (pem: string): string =>
      execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, pem), '-rawin', '-in', join(dir, 'm.json'), '-sigfile', join(dir, 'm.sig')], {
        encoding: 'utf8',
      });
    expect(verify('k.pem')).toMatch(/Signature Verified Successfully/);
    expect(() => verify('o.pem')).toThrow();
    expect(findSigningKey(message, signature, [other.publicKey, key.publicKey])).toBe(1);
    expect(findSigningKey(Buffer.from('{"a":2}'), signature, [key.publicKey])).toBe(-1);
  });

  it('gives a stable, file-name-safe key id', () => {
    const key = parseReleaseKey(Buffer.alloc(32, 7).toString('base64'));
    expect(releaseKeyId(key.publicKey)).toMatch(/^ed25519-[0-9a-f]{16}$/);
    expect(releaseKeyId(key.publicKey)).toBe(releaseKeyId(parsePublicKey(publicKeyToBase64(key.publicKey))));
    expect(releaseKeyId(generateReleaseKey().publicKey)).not.toBe(releaseKeyId(key.publicKey));
  });

  it('refuses a public key of the wrong length', () => {
    expect(() => parsePublicKey(Buffer.alloc(33).toString('base64'))).toThrow(/decodes to 33 bytes; expected base64 of a raw 32-byte/);
  });
});
