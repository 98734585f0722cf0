/**
 * Quoting for a POSIX remote shell. sshd hands the command line to the user's login shell as ONE
 * string (`$SHELL -c LINE`), so every argument must be quoted so that no value can be read as shell
 * syntax. An argument made only of characters that no POSIX shell treats specially is left as it is
 * (so logs stay readable); any other argument is wrapped in single quotes, each embedded single quote
 * written as `'\''`. Inside single quotes a POSIX shell interprets nothing at all.
 */
import { SshConfigError } from './errors.js';

/** Characters that are never special to a POSIX shell anywhere in a word (`=` and `~` are excluded on purpose). */
const PLAIN_WORD = /^[A-Za-z0-9_./:@%+,-]+$/;

/**
 * An argument whose value must not be shown: it is sent to the host as it is, but logs and error
 * messages show `***` (or `<label>`) in its place, and its value is masked in logged output.
 * Note that an argument is still visible in the host's process list while the command runs: pass
 * real secrets on stdin instead where you can.
 */
export class SecretArg {
  readonly #value: string;
  readonly label: string | undefined;

  constructor(value: string, label?: string) {
    this.#value = value;
    this.label = label;
  }

  /** The real value (sent to the host only). */
  reveal(): string {
    return this.#value;
  }

  /** What logs and errors show instead of the value. */
  toString(): string {
    return this.label !== undefined ? `<${this.label}>` : '***';
  }

  toJSON(): string {
    return this.toString();
  }
}

/** One argument of a remote command: a plain string or a value marked secret. */
export type Arg = string | SecretArg;

/** Marks an argument as secret: redacted from logs and error messages. */
export function secret(value: string, label?: string): SecretArg {
  return new SecretArg(value, label);
}

/** Quotes one value for a POSIX shell. */
export function quoteArg(value: string): string {
  if (value.includes('\0')) {
    throw new SshConfigError('A remote command argument contains a NUL byte, which no command line can carry.');
  }
  if (PLAIN_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The command line sent to the host: every argument quoted, secrets included as their real value. */
export function commandLine(argv: readonly Arg[]): string {
  return argv.map((arg) => quoteArg(typeof arg === 'string' ? arg : arg.reveal())).join(' ');
}

/** The command line shown to users: every argument quoted, secrets replaced by `***` or `<label>`. */
export function displayCommand(argv: readonly Arg[]): string {
  return argv.map((arg) => (typeof arg === 'string' ? quoteArg(arg) : arg.toString())).join(' ');
}

/** The real values of the secret arguments (to mask them in logged output). */
export function secretValues(argv: readonly Arg[]): string[] {
  return argv.flatMap((arg) => (typeof arg === 'string' ? [] : [arg.reveal()])).filter((v) => v.length > 0);
}

/** Replaces every occurrence of each secret value in `text` with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const value of secrets) {
    if (value.length > 0) out = out.replaceAll(value, '***');
  }
  return out;
}
