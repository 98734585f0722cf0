import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '@titan/log/logger';
import { renderDigestOverride } from './digest-override.js';
import { sha256Hex } from './file-hash.js';
import {
  DIGEST_OVERRIDE_FILE,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_VERSION,
  serializeManifest,
  SIGNATURE_FILE,
  type ManifestFile,
  type ReleaseImage,
  type ReleaseManifest,
} from './manifest.js';
import { signManifest } from './manifest-signature.js';
import { formatCreatedAt, RELEASE_ID_PATTERN, releaseIdFor } from './release-id.js';
import type { ReleaseSigningKey } from './release-key.js';
import type { ReleaseSource } from './release-source.js';
import { ReleaseSourceError } from './release-source-error.js';
import { errorCode } from './error-code.js';

/**
 * Writes a signed release bundle to `<output>/<release id>/`:
 *   the compose files, docker-compose.digests.yml, the config folder (policy inside), the
 *   migrations folder, manifest.json and manifest.sig.
 * Everything is written into a temporary folder next to the destination and renamed into place
 * only when complete: a failure leaves nothing behind (not even `output`, when it did not exist).
 * Files are stored 0644 and folders 0755 whatever their modes in the source: the host reads them,
 * it never executes them, and the manifest does not record modes.
 */
export class BundleWriteError extends Error {
  override readonly name = 'BundleWriteError';
}

export interface BundleRequest {
  readonly source: ReleaseSource;
  readonly images: Readonly<Record<string, ReleaseImage>>;
  readonly signingKey: ReleaseSigningKey;
  readonly keyId: string;
  readonly git: { readonly sha: string; readonly ref: string };
  readonly runUrl: string;
  readonly createdAt: Date;
  /** The folder the bundle folder is created in. */
  readonly output: string;
  /** Default: `<yyyymmddThhmmssZ>-<first 12 of the git sha>`. */
  readonly releaseId?: string;
}

export interface WrittenBundle {
  /** `<output>/<release id>`, absolute. */
  readonly dir: string;
  readonly manifest: ReleaseManifest;
  readonly manifestBytes: Buffer;
  /** sha256 hex of manifest.json's bytes. */
  readonly manifestSha256: string;
  readonly signature: Uint8Array;
  /** Sum of the sizes of the files the manifest lists. */
  readonly totalSize: number;
}

const FILE_MODE = 0o644;
const FOLDER_MODE = 0o755;

export async function writeBundle(request: BundleRequest, logger?: Logger): Promise<WrittenBundle> {
  const releaseId = request.releaseId ?? releaseIdFor(request.createdAt, request.git.sha);
  if (!RELEASE_ID_PATTERN.test(releaseId)) {
    throw new BundleWriteError(`release id "${releaseId}" does not match ${RELEASE_ID_PATTERN.source}`);
  }
  const output = resolve(request.output);
  const dir = join(output, releaseId);
  if (await exists(dir)) {
    throw new BundleWriteError(`${dir} already exists; a release folder is written once. Choose another output folder or remove it`);
  }
  const staging = await mkdtemp(join(await nearestFolder(output), `.titan-release-${releaseId}-`));
  try {
    const built = await fillStaging(staging, releaseId, request);
    await chmod(staging, FOLDER_MODE);
    await mkdir(output, { recursive: true, mode: FOLDER_MODE });
    try {
      await rename(staging, dir);
    } catch (error: unknown) {
      throw new BundleWriteError(`cannot move the finished bundle into ${dir} (${errorCode(error)})`, { cause: error });
    }
    logger?.info(`Wrote ${built.manifest.files.length} files (${built.totalSize} bytes) and the signed manifest to ${dir}`);
    return { dir, ...built };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function fillStaging(staging: string, releaseId: string, request: BundleRequest): Promise<Omit<WrittenBundle, 'dir'>> {
  const files: ManifestFile[] = [];
  const put = async (path: string, bytes: Uint8Array): Promise<void> => {
    const target = join(staging, path);
    await mkdir(dirname(target), { recursive: true, mode: FOLDER_MODE });
    await writeFile(target, bytes, { mode: FILE_MODE, flag: 'wx' });
    await chmod(target, FILE_MODE);
    files.push({ path, sha256: sha256Hex(bytes), size: bytes.length });
  };
  for (const file of request.source.files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file.absolutePath);
    } catch (error: unknown) {
      throw new ReleaseSourceError(file.path, `cannot be read (${errorCode(error)})`, { cause: error });
    }
    await put(file.path, bytes);
  }
  await put(DIGEST_OVERRIDE_FILE, Buffer.from(renderDigestOverride(request.images), 'utf8'));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const policy = files.find((f) => f.path === request.source.policy);
  if (policy === undefined) throw new ReleaseSourceError(request.source.policy, 'the policy file is not among the shipped files');
  const manifest: ReleaseManifest = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    releaseId,
    git: { sha: request.git.sha, ref: request.git.ref },
    runUrl: request.runUrl,
    createdAt: formatCreatedAt(request.createdAt),
    keyId: request.keyId,
    policy: { path: policy.path, sha256: policy.sha256 },
    compose: [...request.source.compose, DIGEST_OVERRIDE_FILE],
    images: request.images,
    files,
    stack: request.source.stack,
  };
  let manifestBytes: Buffer;
  try {
    manifestBytes = serializeManifest(manifest);
  } catch (error: unknown) {
    throw new BundleWriteError(`the manifest would be invalid: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const signature = signManifest(manifestBytes, request.signingKey);
  await writeFile(join(staging, MANIFEST_FILE), manifestBytes, { mode: FILE_MODE, flag: 'wx' });
  await writeFile(join(staging, SIGNATURE_FILE), signature, { mode: FILE_MODE, flag: 'wx' });
  await chmod(join(staging, MANIFEST_FILE), FILE_MODE);
  await chmod(join(staging, SIGNATURE_FILE), FILE_MODE);
  return {
    manifest,
    manifestBytes,
    manifestSha256: sha256Hex(manifestBytes),
    signature,
    totalSize: files.reduce((sum, f) => sum + f.size, 0),
  };
}

/** The folder itself when it exists, otherwise its nearest existing ancestor (where staging goes). */
async function nearestFolder(folder: string): Promise<string> {
  let current = folder;
  for (;;) {
    try {
      if ((await stat(current)).isDirectory()) return current;
      throw new BundleWriteError(`${current} exists and is not a folder; output must be a folder (or not exist yet)`);
    } catch (error: unknown) {
      if (error instanceof BundleWriteError) throw error;
      const parent = dirname(current);
      if (parent === current) throw new BundleWriteError(`no existing folder above ${folder} to write the bundle in`);
      current = parent;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
