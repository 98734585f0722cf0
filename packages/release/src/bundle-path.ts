/**
 * The paths a bundle may hold, relative to the bundle folder. The charset is what a host can check
 * with grep and hand to sha256sum without quoting: letters, digits, `.`, `_`, `-` and `/` between
 * segments; no empty, `.` or `..` segment, no leading or trailing `/`. In canonical JSON such a path
 * is written verbatim (nothing to escape), which is what makes the manifest's entries greppable.
 */
export const BUNDLE_PATH_PATTERN = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
export const BUNDLE_PATH_MAX_LENGTH = 1024;

/** Why a path is not allowed in a bundle, or undefined when it is. */
export function bundlePathProblem(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (path.length > BUNDLE_PATH_MAX_LENGTH) return `the path is longer than ${BUNDLE_PATH_MAX_LENGTH} characters`;
  if (path.startsWith('/')) return 'the path is absolute; bundle paths are relative to the bundle folder';
  if (!BUNDLE_PATH_PATTERN.test(path)) {
    return 'the path holds a character outside [A-Za-z0-9._-] and "/" between segments (or an empty segment)';
  }
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'the path has a "." or ".." segment';
  }
  return undefined;
}

export function isBundlePath(path: string): boolean {
  return bundlePathProblem(path) === undefined;
}
