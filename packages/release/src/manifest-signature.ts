import nacl from 'tweetnacl';
import type { ReleaseSigningKey } from './release-key.js';

/**
 * manifest.sig: the pure Ed25519 signature (64 bytes, raw, no newline) of exactly the bytes of
 * manifest.json. OpenSSL verifies the same signature with
 * `openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in manifest.json -sigfile manifest.sig`.
 */
export const SIGNATURE_LENGTH = 64;

export function signManifest(manifestBytes: Uint8Array, key: ReleaseSigningKey): Uint8Array {
  return nacl.sign.detached(manifestBytes, key.secretKey);
}

/** The index of the first trusted key that made the signature, or -1 when none did. */
export function findSigningKey(
  manifestBytes: Uint8Array,
  signature: Uint8Array,
  trustedKeys: readonly Uint8Array[],
): number {
  if (signature.length !== SIGNATURE_LENGTH) return -1;
  return trustedKeys.findIndex(
    (key) => key.length === nacl.sign.publicKeyLength && nacl.sign.detached.verify(manifestBytes, signature, key),
  );
}
