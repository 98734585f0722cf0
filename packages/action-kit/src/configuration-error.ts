/**
 * A mistake in how the action was called (a missing or malformed input, an unreadable file the
 * user named): what is wrong and how to fix it. Kept apart from operational failures (a host that
 * refuses, a service that stays unhealthy) so the user knows whose move it is.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /** The input the mistake is about, when there is one. */
  readonly input: string | undefined;

  constructor(message: string, options: { input?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.input = options.input;
  }
}

export function isConfigurationError(error: unknown): error is ConfigurationError {
  return error instanceof ConfigurationError || (error instanceof Error && error.name === 'ConfigurationError');
}
