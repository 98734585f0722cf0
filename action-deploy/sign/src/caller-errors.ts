import { ConfigurationError } from '@titan/action-kit/configuration-error';
import { DigestError } from '@titan/release/image-digests';
import { ReleaseSourceError } from '@titan/release/release-source-error';

/**
 * The release library's refusals that are the caller's to fix (their source folder, their digests),
 * reported as ConfigurationErrors against the input at fault. Anything else stays as it is.
 */
export function asCallerError(error: unknown, source: string): unknown {
  if (error instanceof DigestError) return new ConfigurationError(error.message, { input: error.origin, cause: error });
  if (error instanceof ReleaseSourceError) {
    // Paths are relative to the source folder, except when the folder itself is at fault.
    const message = error.path === source ? `release source ${error.message}` : `release source ${source}: ${error.message}`;
    return new ConfigurationError(message, { input: 'source', cause: error });
  }
  return error;
}
