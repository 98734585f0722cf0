/**
 * The one reader of a release bundle on the runner (the folder sign wrote), for deploy and verify:
 * its manifest and its compose model, verified or not. With public keys it is verified exactly as
 * the host verifies it (signature by one of the keys, every file's size and sha256, nothing
 * unlisted: bundle-verifier.ts); without, its manifest is only read and checked for form, and
 * `verified` says so.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleVerificationError, verifyBundle } from './bundle-verifier.js';
import { type ComposeView, definitionFiles, readComposeView } from './compose-model.js';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from './manifest.js';

export interface LocalBundle {
  readonly dir: string;
  readonly manifest: ReleaseManifest;
  /** The compose model of the release's definition files. */
  readonly compose: ComposeView;
  /** True when the signature and every file were checked against one of the given keys. */
  readonly verified: boolean;
}

/** Reads the bundle in `dir`, verified against `publicKeys` when any are given. Throws BundleVerificationError. */
export async function readLocalBundle(dir: string, publicKeys: readonly Uint8Array[]): Promise<LocalBundle> {
  const verified = publicKeys.length > 0;
  const manifest = verified ? (await verifyBundle(dir, publicKeys)).manifest : await readManifest(dir);
  const files = await Promise.all(definitionFiles(manifest).map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
  return { dir, manifest, compose: readComposeView(files), verified };
}

async function readManifest(dir: string): Promise<ReleaseManifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, MANIFEST_FILE));
  } catch (error: unknown) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unreadable';
    throw new BundleVerificationError('missing', `${MANIFEST_FILE} cannot be read from the bundle ${dir} (${code}); give the folder sign wrote`, MANIFEST_FILE);
  }
  try {
    return parseManifest(bytes);
  } catch (error: unknown) {
    throw new BundleVerificationError('manifest', `${MANIFEST_FILE} of the bundle ${dir}: ${error instanceof Error ? error.message : String(error)}`, MANIFEST_FILE);
  }
}
