import * as core from '@actions/core';

/**
 * Registers a credential with the runner so it never appears in the log. Multi-line values (keys,
 * env files) are registered line by line too, because the runner masks line by line.
 */
export function maskSecret(value: string | undefined): void {
  if (value === undefined || value === '') return;
  core.setSecret(value);
  const lines = value.split(/\r?\n/).map((l) => l.trim());
  for (const line of lines) {
    if (line.length >= 4 && line !== value) core.setSecret(line);
  }
}

/** Masks every value of an env-style map (`KEY=value` values, not their names). */
export function maskValues(values: Iterable<string>): void {
  for (const value of values) maskSecret(value);
}
