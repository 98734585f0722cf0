import { rm } from 'node:fs/promises';
import type { Logger } from '@titan/log/logger';
import { verifyBundle } from './bundle-verifier.js';
import { writeBundle, type WrittenBundle } from './bundle-writer.js';
import { resolveReleaseImages, type DigestSelection } from './image-digests.js';
import { pinnedImageReference } from './image-reference.js';
import { releaseKeyId, type ReleaseSigningKey } from './release-key.js';
import { readReleaseSource } from './release-source.js';

/**
 * Sign, end to end: read and check the release source, take exactly the expected digests, write the
 * signed bundle, and verify what was written as a host would before reporting success.
 */
export interface SignReleaseRequest {
  /** The release source folder (holds services.yml). */
  readonly source: string;
  readonly selection: DigestSelection;
  readonly signingKey: ReleaseSigningKey;
  /** Default: releaseKeyId(public key). */
  readonly keyId?: string;
  readonly git: { readonly sha: string; readonly ref: string };
  readonly runUrl: string;
  /** Default: now. */
  readonly createdAt?: Date;
  /** The bundle is written to `<output>/<release id>/`. */
  readonly output: string;
}

export type SignedRelease = WrittenBundle;

export async function signRelease(request: SignReleaseRequest, logger: Logger): Promise<SignedRelease> {
  const source = await logger.group('Read the release source', async () => {
    const read = await readReleaseSource(request.source);
    logger.info(`${read.dir}: ${read.files.length} files to ship, compose ${read.compose.join(' + ')}, ${read.images.length} images`);
    return read;
  });
  const images = await logger.group('Collect image digests', () => {
    const resolved = resolveReleaseImages(source, request.selection);
    for (const [service, image] of Object.entries(resolved)) logger.info(`${service}: ${pinnedImageReference(image.image, image.digest)}`);
    return Promise.resolve(resolved);
  });
  const bundle = await logger.group('Write the signed bundle', () =>
    writeBundle(
      {
        source,
        images,
        signingKey: request.signingKey,
        keyId: request.keyId ?? releaseKeyId(request.signingKey.publicKey),
        git: request.git,
        runUrl: request.runUrl,
        createdAt: request.createdAt ?? new Date(),
        output: request.output,
      },
      logger,
    ),
  );
  await logger.group('Verify the bundle', async () => {
    try {
      await verifyBundle(bundle.dir, [request.signingKey.publicKey]);
    } catch (error: unknown) {
      await rm(bundle.dir, { recursive: true, force: true });
      throw error;
    }
    logger.info(`${bundle.manifest.releaseId}: signature, ${bundle.manifest.files.length} files and their sha256 verified`);
  });
  return bundle;
}
