import * as core from '@actions/core';
import { isConfigurationError } from './configuration-error.js';

/**
 * The one top-level catch of an action's entry point: any failure becomes `core.setFailed` with a
 * message a person can act on. A ConfigurationError says it is the caller's input to fix.
 * Never calls process.exit: `finally` blocks (locks, connections) always run.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error: unknown) {
    core.setFailed(failureMessage(error));
    if (error instanceof Error && error.stack !== undefined) core.debug(error.stack);
  }
}

export function failureMessage(error: unknown): string {
  if (isConfigurationError(error)) return `Configuration error: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
