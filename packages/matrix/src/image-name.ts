/**
 * Names that end up in image references, cache keys and file names: a service or image name must be
 * safe everywhere it goes (a path segment, a cache key, a Docker repository component), and the
 * registry must be something `docker push` accepts.
 */

/** Service and image names: lowercase letters and digits first, then also `.`, `_`, `-`. */
export const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** One path component of a Docker repository (distribution/reference's grammar). */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A registry host: DNS labels or an IPv4 address, with an optional port. */
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;

/** Docker's limit on the length of a repository name (host and path). */
const MAX_REPOSITORY_LENGTH = 255;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

/**
 * Why `name` is not a safe service or image name, or undefined when it is. Image names must also be
 * a valid repository path component (no `..`, no trailing `-`).
 */
export function unsafeNameReason(name: string, kind: 'service' | 'image'): string | undefined {
  if (!SAFE_NAME.test(name)) {
    return `"${name}" is not a safe ${kind} name: use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (${SAFE_NAME.source})`;
  }
  if (kind === 'image' && !PATH_COMPONENT.test(name)) {
    return `"${name}" is not a valid image name for a registry: separators ('.', '_', '__', '-') must sit between letters or digits`;
  }
  return undefined;
}

/**
 * Why `registry` cannot prefix an image repository, or undefined when it can. Accepted:
 * `host[:port]/path...` (`127.0.0.1:5000/titan`, `ghcr.io/acme/titan`,
 * `registry.digitalocean.com/titan`) or a Docker Hub namespace (`acme`). Not accepted: a scheme,
 * a tag or digest, uppercase path components, an empty component.
 */
export function invalidRegistryReason(registry: string): string | undefined {
  if (registry === '') return 'the registry is empty';
  if (/^[a-z]+:\/\//i.test(registry)) {
    return `"${registry}" starts with a scheme: give the registry as host[:port]/path, e.g. 127.0.0.1:5000/titan`;
  }
  if (/[@\s]/.test(registry)) return `"${registry}" holds a space or '@': a registry is host[:port]/path`;
  const parts = registry.split('/');
  const first = parts[0] ?? '';
  const firstIsDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  if (firstIsDomain) {
    if (!DOMAIN.test(first)) return `"${first}" is not a valid registry host[:port]`;
    const port = /:(\d+)$/.exec(first)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      return `port ${port} of "${registry}" is out of range`;
    }
  }
  const path = firstIsDomain ? parts.slice(1) : parts;
  for (const component of path) {
    if (!PATH_COMPONENT.test(component)) {
      return `"${component}" in "${registry}" is not a valid repository path component (lowercase letters and digits, separated by '.', '_', '__' or '-')`;
    }
  }
  if (registry.length + 1 >= MAX_REPOSITORY_LENGTH) return `"${registry}" is too long for a repository prefix`;
  return undefined;
}

/** The full repository an image is pushed to: `<registry>/<image>`. */
export function imageRepository(registry: string, image: string): string {
  const repository = `${registry}/${image}`;
  if (repository.length > MAX_REPOSITORY_LENGTH) {
    throw new Error(`The repository ${repository} is longer than ${MAX_REPOSITORY_LENGTH} characters`);
  }
  return repository;
}
