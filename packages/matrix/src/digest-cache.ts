/**
 * Where the digests of images already built are remembered, by service and build key. A plan looks
 * every service up and reuses what it finds; a record step stores the digests the build legs
 * pushed. Implementations: `DirectoryDigestCache` (a folder; outside GitHub and in tests) and the
 * matrix action's Actions cache (`@actions/cache`).
 */
export interface DigestCache {
  /** A short description for logs and summaries (`directory /tmp/x`, `GitHub Actions cache`). */
  readonly description: string;
  /** The digest recorded for this service and build key, if any. */
  lookup(service: string, key: string): Promise<string | undefined>;
  record(service: string, key: string, digest: string): Promise<void>;
}

/** The cache key of one service's image: `titan-image-<service>-<build key>`. */
export function digestCacheKey(service: string, buildKey: string): string {
  return `titan-image-${service}-${buildKey}`;
}
