/**
 * The names an image reference is made of, as the release pins them:
 * `<registry>/<image>@sha256:<64 hex>`, e.g. `127.0.0.1:5000/shop/web@sha256:...`. The one set of
 * name rules: services.yml, the stack profile, the manifest, the matrix and the host all check names
 * with these patterns, and the `...Problem` functions say why a name fails them.
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

/** Docker's limit on the length of a repository name (host and path). */
export const MAX_REPOSITORY_LENGTH = 255;

/** One path component of a repository (distribution/reference's grammar). */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Why `name` is not a compose service name, or undefined when it is. */
export function serviceNameProblem(name: string): string | undefined {
  if (SERVICE_NAME_PATTERN.test(name)) return undefined;
  return `"${name}" is not a compose service name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63 characters (${SERVICE_NAME_PATTERN.source})`;
}

/** Why `name` cannot be an image name below the registry, or undefined when it can. */
export function imageNameProblem(name: string): string | undefined {
  if (IMAGE_NAME_PATTERN.test(name)) return undefined;
  if (/[:@]/.test(name)) return `"${name}" holds a tag or digest: give the repository below the registry only (the release tags and pins it)`;
  return `"${name}" is not an image name below the registry: lower-case path components of letters and digits, separated by '.', '_', '__' or '-' and joined by '/'`;
}

/**
 * Why `registry` cannot prefix an image repository, or undefined when it can. Accepted:
 * `host[:port]/path...` (`127.0.0.1:5000/titan`, `ghcr.io/acme/titan`) or a Docker Hub namespace
 * (`acme`). Not accepted: a scheme, a tag or digest, upper-case path components, an empty component.
 */
export function registryProblem(registry: string): string | undefined {
  if (registry === '') return 'the registry is empty';
  if (/^[a-z]+:\/\//i.test(registry)) return `"${registry}" starts with a scheme: give the registry as host[:port]/path, e.g. 127.0.0.1:5000/titan`;
  if (/[@\s]/.test(registry)) return `"${registry}" holds a space or '@': a registry is host[:port]/path`;
  const [first = '', ...rest] = registry.split('/');
  const port = /:(\d+)$/.exec(first)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} of "${registry}" is out of range`;
  for (const component of rest) {
    if (!PATH_COMPONENT.test(component)) {
      return `"${component}" in "${registry}" is not a valid repository path component (lower-case letters and digits, separated by '.', '_', '__' or '-')`;
    }
  }
  if (!REGISTRY_PATTERN.test(registry)) return `"${registry}" is not a registry host[:port][/path] (e.g. 127.0.0.1:5000/titan)`;
  if (registry.length + 1 >= MAX_REPOSITORY_LENGTH) return `"${registry}" is too long for a repository prefix`;
  return undefined;
}

/** `<registry>/<image>`; refused when Docker would refuse the name for its length. */
export function imageRepository(registry: string, image: string): string {
  const repository = `${registry.replace(/\/+$/, '')}/${image}`;
  if (repository.length > MAX_REPOSITORY_LENGTH) throw new Error(`The repository ${repository} is longer than ${MAX_REPOSITORY_LENGTH} characters`);
  return repository;
}

/** `repository@sha256:...`: how compose and `docker pull` name an image by digest. */
export function pinnedImageReference(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}
