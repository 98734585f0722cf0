import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundlePathProblem } from './bundle-path.js';
import { lstatEntry } from './entry-stat.js';
import { hashFile } from './file-hash.js';
import { MANIFEST_FILE, parseManifest, SIGNATURE_FILE, type ReleaseManifest } from './manifest.js';
import { findSigningKey, SIGNATURE_LENGTH } from './manifest-signature.js';
import { errorCode } from './error-code.js';

/**
 * Verifies a release bundle on the runner, the same checks the host script makes with openssl and
 * sha256sum: manifest.sig is a signature of manifest.json's bytes by one of the trusted keys, the
 * manifest is canonical and well-formed, every listed file is there as a regular file with its size
 * and sha256, and nothing else is (no unlisted file, no symbolic link, no empty folder).
 */
export type BundleCheck = 'bundle' | 'signature' | 'manifest' | 'missing' | 'size' | 'sha256' | 'unlisted' | 'not-regular';

export class BundleVerificationError extends Error {
  override readonly name = 'BundleVerificationError';

  /** `path`: the file at fault, relative to the bundle folder. */
  readonly check: BundleCheck;
  readonly path?: string;
  constructor(check: BundleCheck, message: string, path?: string) {
    super(message);
    this.check = check;
    this.path = path;
  }
}

export interface VerifiedBundle {
  readonly manifest: ReleaseManifest;
  /** Index in `trustedKeys` of the key that signed it. */
  readonly keyIndex: number;
}

export async function verifyBundle(dir: string, trustedKeys: readonly Uint8Array[]): Promise<VerifiedBundle> {
  if (trustedKeys.length === 0) throw new BundleVerificationError('signature', 'no trusted public key to verify the bundle with');
  const manifestBytes = await readTopFile(dir, MANIFEST_FILE);
  const signature = await readTopFile(dir, SIGNATURE_FILE);
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new BundleVerificationError('signature', `${SIGNATURE_FILE} is ${signature.length} bytes; an Ed25519 signature is 64 raw bytes`, SIGNATURE_FILE);
  }
  const keyIndex = findSigningKey(manifestBytes, signature, trustedKeys);
  if (keyIndex < 0) {
    throw new BundleVerificationError(
      'signature',
      `${SIGNATURE_FILE} is not a valid signature of ${MANIFEST_FILE} by any of the ${trustedKeys.length} trusted key(s): the manifest was changed or signed by another key`,
      MANIFEST_FILE,
    );
  }
  let manifest: ReleaseManifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (error: unknown) {
    throw new BundleVerificationError('manifest', `${MANIFEST_FILE}: ${error instanceof Error ? error.message : String(error)}`, MANIFEST_FILE);
  }

  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const present = await listBundle(dir);
  for (const file of manifest.files) {
    if (!present.has(file.path)) {
      throw new BundleVerificationError('missing', `${file.path} is listed in the manifest but missing from the bundle`, file.path);
    }
  }
  for (const path of present) {
    if (path !== MANIFEST_FILE && path !== SIGNATURE_FILE && !listed.has(path)) {
      throw new BundleVerificationError('unlisted', `${path} is in the bundle but not listed in the manifest`, path);
    }
  }
  for (const file of manifest.files) {
    const actual = await hashFile(join(dir, file.path));
    if (actual.size !== file.size) {
      throw new BundleVerificationError('size', `${file.path} is ${actual.size} bytes; the manifest says ${file.size}`, file.path);
    }
    if (actual.sha256 !== file.sha256) {
      throw new BundleVerificationError('sha256', `${file.path} does not match its sha256 in the manifest`, file.path);
    }
  }
  return { manifest, keyIndex };
}

async function readTopFile(dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  const entry = await lstatEntry(path);
  if (entry.info === undefined) {
    throw new BundleVerificationError(
      entry.missing ? 'missing' : 'bundle',
      entry.missing ? `${name} is missing from the bundle ${dir}` : `${name} cannot be read (${entry.code})`,
      name,
    );
  }
  if (!entry.info.isFile()) throw new BundleVerificationError('not-regular', `${name} is not a regular file`, name);
  return readFile(path);
}

/** Every regular file of the bundle, relative; anything else (link, device, empty folder) is an error. */
async function listBundle(dir: string): Promise<Set<string>> {
  const files = new Set<string>();
  const walk = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(relative === '' ? dir : join(dir, relative));
    } catch (error: unknown) {
      throw new BundleVerificationError('bundle', `${relative === '' ? dir : relative} cannot be read (${errorCode(error)})`, relative || undefined);
    }
    if (names.length === 0 && relative !== '') {
      throw new BundleVerificationError('unlisted', `${relative}/ is an empty folder the manifest does not account for`, relative);
    }
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      if (bundlePathProblem(path) !== undefined) {
        throw new BundleVerificationError('unlisted', `${JSON.stringify(path)} is in the bundle but not listed in the manifest (and is not a valid bundle path)`, path);
      }
      const info = await lstat(join(dir, path));
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) files.add(path);
      else throw new BundleVerificationError('not-regular', `${path} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; a bundle holds regular files only`, path);
    }
  };
  await walk('');
  return files;
}
