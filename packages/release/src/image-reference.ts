/**
 * The names an image reference is made of, as the release pins them:
 * `<registry>/<image>@sha256:<64 hex>`, e.g. `127.0.0.1:5000/shop/web@sha256:...`.
 */

/** A content digest as build legs leave it: `sha256:` and 64 lower-case hex digits. */
export const IMAGE_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** A compose service name (also the name of its digest file). */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A registry host with optional port, then optional lower-case path segments: `127.0.0.1:5000/titan`. */
export const REGISTRY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** An image name below the registry: lower-case path segments, no tag, no digest. */
export const IMAGE_NAME_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A full repository (registry and image name), what a manifest's `images.<service>.image` holds. */
export const IMAGE_REPOSITORY_PATTERN =
  /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;

export function imageRepository(registry: string, image: string): string {
  return `${registry.replace(/\/+$/, '')}/${image}`;
}

/** `repository@sha256:...`: how compose and `docker pull` name an image by digest. */
export function pinnedImageReference(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}
