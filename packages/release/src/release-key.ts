import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * The release key (TITAN_RELEASE_KEY) and its public half. The secret is given as base64 of either a
 * 32-byte Ed25519 seed or a 64-byte tweetnacl secret key (seed followed by public key). Public keys
 * travel as base64 of the raw 32 bytes; hosts keep them as PEM (SubjectPublicKeyInfo), which is the
 * raw key behind the fixed DER prefix 302a300506032b6570032100. No message here ever quotes a key.
 */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export interface ReleaseSigningKey {
  /** tweetnacl's 64-byte secret key (seed || public key). */
  readonly secretKey: Uint8Array;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const SEED_LENGTH = 32;
const SECRET_KEY_LENGTH = 64;
const PUBLIC_KEY_LENGTH = 32;

/** Parses TITAN_RELEASE_KEY (base64 seed or base64 tweetnacl secret key). */
export function parseReleaseKey(text: string): ReleaseSigningKey {
  const bytes = decodeBase64(text, 'the signing key');
  if (bytes.length === SEED_LENGTH) {
    const pair = nacl.sign.keyPair.fromSeed(bytes);
    return { secretKey: pair.secretKey, publicKey: pair.publicKey };
  }
  if (bytes.length === SECRET_KEY_LENGTH) {
    const pair = nacl.sign.keyPair.fromSeed(bytes.subarray(0, SEED_LENGTH));
    if (!Buffer.from(pair.publicKey).equals(bytes.subarray(SEED_LENGTH))) {
      throw new SigningKeyError(
        'the signing key is 64 bytes but its second half is not the public key of its first half: ' +
          'give base64 of the 32-byte seed or of the 64-byte tweetnacl secret key, unaltered',
      );
    }
    return { secretKey: pair.secretKey, publicKey: pair.publicKey };
  }
  throw new SigningKeyError(
    `the signing key decodes to ${bytes.length} bytes; expected base64 of a 32-byte Ed25519 seed ` +
      'or of a 64-byte tweetnacl secret key',
  );
}

/** A fresh release key; `seed` is the TITAN_RELEASE_KEY form (base64 of the 32-byte seed). */
export function generateReleaseKey(): ReleaseSigningKey & { readonly seed: string } {
  const seed = nacl.randomBytes(SEED_LENGTH);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return { secretKey: pair.secretKey, publicKey: pair.publicKey, seed: Buffer.from(seed).toString('base64') };
}

/** A public key given as base64 of the raw 32 bytes, or as a PEM "PUBLIC KEY" block. */
export function parsePublicKey(text: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return publicKeyFromPem(trimmed);
  const bytes = decodeBase64(trimmed, 'the public key');
  if (bytes.length !== PUBLIC_KEY_LENGTH) {
    throw new SigningKeyError(
      `the public key decodes to ${bytes.length} bytes; expected base64 of a raw 32-byte Ed25519 public key`,
    );
  }
  return new Uint8Array(bytes);
}

export function publicKeyToBase64(publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64');
}

/** DER SubjectPublicKeyInfo: the fixed prefix followed by the raw key. */
export function publicKeyToDer(publicKey: Uint8Array): Buffer {
  assertPublicKeyLength(publicKey);
  return Buffer.concat([ED25519_SPKI_PREFIX, publicKey]);
}

/** PEM as `openssl pkey -pubin` writes it; what a host keeps in /opt/titan/trust/<key id>.pem. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  return `-----BEGIN PUBLIC KEY-----\n${publicKeyToDer(publicKey).toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

export function publicKeyFromDer(der: Uint8Array): Uint8Array {
  const bytes = Buffer.from(der);
  if (bytes.length !== ED25519_SPKI_PREFIX.length + PUBLIC_KEY_LENGTH || !bytes.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
    throw new SigningKeyError('the DER public key is not an Ed25519 SubjectPublicKeyInfo (302a300506032b6570032100 + 32 bytes)');
  }
  return new Uint8Array(bytes.subarray(ED25519_SPKI_PREFIX.length));
}

export function publicKeyFromPem(pem: string): Uint8Array {
  const match = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END PUBLIC KEY-----\s*$/.exec(pem.trim());
  if (match === null || match[1] === undefined) {
    throw new SigningKeyError('the PEM public key is not a single "-----BEGIN PUBLIC KEY-----" block');
  }
  return publicKeyFromDer(decodeBase64(match[1].replace(/\s+/g, ''), 'the PEM public key'));
}

/**
 * The key id of a public key: `ed25519-` and the first 16 hex digits of sha256 over the raw 32
 * bytes. Stable, safe as a file name (trust/<key id>.pem) and short enough for a summary.
 */
export function releaseKeyId(publicKey: Uint8Array): string {
  assertPublicKeyLength(publicKey);
  return `ed25519-${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
}

export function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function assertPublicKeyLength(publicKey: Uint8Array): void {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new SigningKeyError(`an Ed25519 public key is 32 bytes, got ${publicKey.length}`);
  }
}

/** Strict base64: whitespace around it is dropped, anything else that is not base64 is an error. */
function decodeBase64(text: string, what: string): Buffer {
  const compact = text.trim();
  if (compact === '') throw new SigningKeyError(`${what} is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new SigningKeyError(`${what} is not valid base64 (characters A-Z a-z 0-9 + / and = padding only)`);
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.toString('base64') !== compact) {
    throw new SigningKeyError(`${what} is not canonical base64 (stray padding or trailing bits)`);
  }
  return bytes;
}
