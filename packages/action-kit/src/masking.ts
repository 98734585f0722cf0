import * as core from '@actions/core';

let register: (value: string) => void = (value) => core.setSecret(value);

/**
 * Where credentials are registered: the runner's masking (`::add-mask::`) by default; a terminal
 * (the CLI) registers them with its own output, which redacts them, and never prints them.
 */
export function registerSecretsWith(registrar: (value: string) => void): void {
  register = registrar;
}

/**
 * Registers a credential with the runner so it never appears in the log. Multi-line values (keys,
 * env files) are registered line by line too, because the runner masks line by line.
 */
export function maskSecret(value: string | undefined): void {
  if (value === undefined || value === '') return;
  register(value);
  const lines = value.split(/\r?\n/).map((l) => l.trim());
  for (const line of lines) {
    if (line.length >= 4 && line !== value) register(line);
  }
}

/** Masks every value of an env-style map (`KEY=value` values, not their names). */
export function maskValues(values: Iterable<string>): void {
  for (const value of values) maskSecret(value);
}
