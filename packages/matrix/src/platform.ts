import { MatrixInputError } from './matrix-input-error.js';

const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;

/**
 * The target platform(s) as one canonical string (`linux/amd64`, or a comma list sorted and
 * without duplicates), or undefined when none was given. Part of the build key.
 */
export function normalisePlatforms(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const platforms = [...new Set(value.split(',').map((p) => p.trim()))].sort();
  const bad = platforms.filter((p) => !PLATFORM.test(p));
  if (bad.length > 0) {
    throw new MatrixInputError('platform', `"${bad.join(', ')}" is not a platform: give os/arch[/variant], e.g. linux/amd64 or linux/amd64,linux/arm64`);
  }
  return platforms.join(',');
}
