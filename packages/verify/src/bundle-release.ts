/**
 * The release to verify against, from a local bundle folder (what sign wrote) instead of the host's
 * `current/`. With public keys it is verified on the runner first, exactly as deploy does
 * (signature, every file's size and sha256, nothing unlisted); without, only its manifest is read
 * and checked for form, and the caller says so.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleVerificationError, verifyBundle } from '@titan/release/bundle-verifier';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from '@titan/release/manifest';

export interface BundleRelease {
  readonly manifest: ReleaseManifest;
  /** True when the signature and every file were checked against a given key. */
  readonly verified: boolean;
}

export async function readBundleRelease(dir: string, publicKeys: readonly Uint8Array[]): Promise<BundleRelease> {
  if (publicKeys.length > 0) {
    const { manifest } = await verifyBundle(dir, publicKeys);
    return { manifest, verified: true };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, MANIFEST_FILE));
  } catch (error: unknown) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unreadable';
    throw new BundleVerificationError('missing', `${MANIFEST_FILE} cannot be read from the bundle ${dir} (${code}); give the folder sign wrote`, MANIFEST_FILE);
  }
  try {
    return { manifest: parseManifest(bytes), verified: false };
  } catch (error: unknown) {
    throw new BundleVerificationError('manifest', `${MANIFEST_FILE} of the bundle ${dir}: ${error instanceof Error ? error.message : String(error)}`, MANIFEST_FILE);
  }
}
