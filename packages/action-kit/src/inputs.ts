import * as core from '@actions/core';
import { ConfigurationError } from './configuration-error.js';
import { maskSecret } from './masking.js';

/**
 * The one place an action reads its inputs. Each action has a `settings.ts` that calls these
 * readers once and returns a typed settings object; nothing else reads `INPUT_*`. A bad value fails
 * here with the input's name in the message.
 */
export interface InputSource {
  get(name: string): string;
  /**
   * A credential's value, when the source keeps credentials apart (the CLI takes them only from the
   * environment or files, never from its command line); `get` otherwise.
   */
  secret?(name: string): string;
}

/** Inputs as the runner passes them (`INPUT_<NAME>` environment variables). */
export const runnerInputs: InputSource = {
  get: (name) => core.getInput(name, { trimWhitespace: true }),
};

let defaultSource: InputSource = runnerInputs;

/**
 * Where a reader made without a source reads: the runner's inputs by default; the CLI, which runs an
 * action's own run() in a terminal, gives its flags, environment and files instead.
 */
export function readInputsFrom(source: InputSource): void {
  defaultSource = source;
}

export class InputReader {
  private readonly source: InputSource;
  constructor(source: InputSource = defaultSource) {
    this.source = source;}

  /** A required input; a missing or empty one is a ConfigurationError naming it. */
  required(name: string, hint?: string): string {
    const value = this.source.get(name);
    if (value === '') {
      throw new ConfigurationError(
        `Input required and not supplied: ${name}${hint === undefined ? '' : ` (${hint})`}`,
        { input: name },
      );
    }
    return value;
  }

  optional(name: string): string | undefined;
  optional(name: string, fallback: string): string;
  optional(name: string, fallback?: string): string | undefined {
    const value = this.source.get(name);
    return value === '' ? fallback : value;
  }

  /** A credential: registered with the runner's masking before it is returned. */
  secret(name: string, options: { required: true; hint?: string }): string;
  secret(name: string, options?: { required?: false }): string | undefined;
  secret(name: string, options: { required?: boolean; hint?: string } = {}): string | undefined {
    const value = this.source.secret === undefined ? this.source.get(name) : this.source.secret(name);
    maskSecret(value);
    if (value === '') {
      if (options.required) {
        throw new ConfigurationError(
          `Input required and not supplied: ${name}${options.hint === undefined ? '' : ` (${options.hint})`}`,
          { input: name },
        );
      }
      return undefined;
    }
    return value;
  }

  /** `true` or `false` only (YAML 1.2 core schema spellings); a typo is an error, never false. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.source.get(name);
    if (value === '') return fallback;
    if (['true', 'True', 'TRUE'].includes(value)) return true;
    if (['false', 'False', 'FALSE'].includes(value)) return false;
    throw new ConfigurationError(`Input ${name} must be true or false, got "${value}"`, { input: name });
  }

  integer(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.source.get(name);
    if (value === '') return fallback;
    if (!/^-?\d+$/.test(value)) {
      throw new ConfigurationError(`Input ${name} must be a whole number, got "${value}"`, { input: name });
    }
    const parsed = Number.parseInt(value, 10);
    if (range.min !== undefined && parsed < range.min) {
      throw new ConfigurationError(`Input ${name} must be at least ${range.min}, got ${parsed}`, { input: name });
    }
    if (range.max !== undefined && parsed > range.max) {
      throw new ConfigurationError(`Input ${name} must be at most ${range.max}, got ${parsed}`, { input: name });
    }
    return parsed;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.source.get(name);
    if (value === '') return fallback;
    const found = choices.find((c) => c === value);
    if (found === undefined) {
      throw new ConfigurationError(`Input ${name} must be one of ${choices.join(', ')}; got "${value}"`, {
        input: name,
      });
    }
    return found;
  }

  /** A multi-line input: one entry per non-empty line, `#` comments dropped. */
  lines(name: string): string[] {
    return this.source
      .get(name)
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  }
}
