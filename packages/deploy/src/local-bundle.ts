/**
 * The release bundle on the runner (the folder action-deploy/sign wrote): its manifest, its compose
 * files (to decide what changes), and, when the release public key is given, the same verification
 * the host makes (signature, every file's size and sha256, nothing unlisted).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyBundle } from '@titan/release/bundle-verifier';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest, stackProfileOf } from '@titan/release/manifest';
import { readComposeView, type ComposeView } from './compose-services.js';
import { definitionFiles } from './change-plan.js';

export interface LocalBundle {
  readonly dir: string;
  readonly manifest: ReleaseManifest;
  readonly compose: ComposeView;
  /** True when the runner checked the signature and every file against the public key. */
  readonly verifiedOnRunner: boolean;
}

/**
 * Reads (and with a public key, verifies) the bundle. Throws BundleVerificationError or ManifestError
 * (a manifest without a stack profile, signed before profiles, included: a deploy needs one).
 */
export async function readLocalBundle(dir: string, publicKey: Uint8Array | undefined): Promise<LocalBundle> {
  let manifest: ReleaseManifest;
  if (publicKey !== undefined) {
    manifest = (await verifyBundle(dir, [publicKey])).manifest;
  } else {
    manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE)));
  }
  stackProfileOf(manifest);
  const files = await Promise.all(definitionFiles(manifest).map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
  return { dir, manifest, compose: readComposeView(files), verifiedOnRunner: publicKey !== undefined };
}
