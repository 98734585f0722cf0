/**
 * Pulls every image of a release by digest before anything stops, so that a registry that is down
 * or an image that is gone fails the deploy while the running stack is still untouched. Which images
 * the engine lacks is a read-only question (asked while the host verifies the bundle); only those are
 * pulled, in parallel, once the release is verified.
 */
import type { Logger } from '@titan/log/logger';
import type { ReleaseImage } from '@titan/release/manifest';
import { IMAGE_DIGEST_PATTERN, IMAGE_REPOSITORY_PATTERN, pinnedImageReference } from '@titan/release/image-reference';
import type { SshConnection } from '@titan/ssh/connection';
import { recordsOf } from './host-record.js';
import { runHostScript } from './host-script.js';

/** `repository@sha256:...` of every image, sorted by service. */
export function imageReferences(images: Readonly<Record<string, ReleaseImage>>): string[] {
  return Object.keys(images)
    .sort()
    .map((service) => {
      const image = images[service];
      if (image === undefined || !IMAGE_REPOSITORY_PATTERN.test(image.image) || !IMAGE_DIGEST_PATTERN.test(image.digest)) {
        throw new Error(`The image of ${service} is not a repository pinned by digest.`);
      }
      return pinnedImageReference(image.image, image.digest);
    });
}

/** The references the host's engine does not have (read-only). */
export async function findMissingImages(connection: SshConnection, references: readonly string[]): Promise<string[]> {
  const { stdout } = await runHostScript(connection, null, 'titan-missing-images', references, { timeoutMs: 5 * 60_000 });
  return recordsOf(stdout, 'missing').flatMap((values) => values.slice(0, 1));
}

export async function pullImages(connection: SshConnection, references: readonly string[], logger: Logger): Promise<void> {
  if (references.length === 0) return;
  try {
    await runHostScript(connection, null, 'titan-pull-images', references, { timeoutMs: 30 * 60_000 });
  } catch (error: unknown) {
    throw new Error(
      `Pulling the release's images by digest failed on ${connection.host}; nothing was stopped. ` +
        `Check that the registry is reachable from the host and still holds every digest the release pins.\n${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  logger.info(`Pulled ${references.length} image(s) by digest.`);
}
