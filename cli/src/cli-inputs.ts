import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import type { InputSource } from '@titan/action-kit/inputs';
import { environmentName, type InputSpec } from './action-inputs.js';

/**
 * An action's inputs as the CLI takes them, for the action's own settings reader: for an input
 * `x-y`, the flag `--x-y VALUE`, else the file `--x-y-file FILE`, else the environment variable
 * `TITAN_X_Y`, else the file named by `TITAN_X_Y_FILE`, else action.yml's default. A credential is
 * never taken from the command line: `--ssh-key VALUE` is refused (argv is visible to every user of
 * the machine); it comes from `TITAN_SSH_KEY` or a file. Values are trimmed, as the runner trims them.
 */
export class CliInputs implements InputSource {
  private readonly specs: ReadonlyMap<string, InputSpec>;

  constructor(
    specs: readonly InputSpec[],
    private readonly flags: Readonly<Record<string, string | undefined>>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
  }

  get(name: string): string {
    return this.read(name, true);
  }

  secret(name: string): string {
    return this.read(name, false);
  }

  private read(name: string, fromArgv: boolean): string {
    const flag = this.flags[name];
    if (flag !== undefined) {
      if (!fromArgv) throw secretOnCommandLine(name);
      return flag.trim();
    }
    const flagFile = this.flags[`${name}-file`];
    if (flagFile !== undefined) return readInputFile(name, flagFile, `--${name}-file`);
    const variable = environmentName(name);
    const fromEnv = this.env[variable];
    if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
    const envFile = this.env[`${variable}_FILE`];
    if (envFile !== undefined && envFile !== '') return readInputFile(name, envFile, `${variable}_FILE`);
    return this.specs.get(name)?.default?.trim() ?? '';
  }
}

/** The refusal of a credential given as a flag: it names the input and where to put it, never the value. */
export function secretOnCommandLine(name: string): ConfigurationError {
  const variable = environmentName(name);
  return new ConfigurationError(
    `--${name} is a secret and is refused on the command line (every user of this machine can read a process's arguments, and your shell keeps them in its history): ` +
      `give it in the environment variable ${variable} or in a file with --${name}-file FILE (or ${variable}_FILE). ` +
      'If it was a real credential, treat it as exposed.',
    { input: name },
  );
}

function readInputFile(name: string, path: string, where: string): string {
  try {
    return readFileSync(resolve(path), 'utf8').trim();
  } catch (error: unknown) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ConfigurationError(`Input ${name}: cannot read ${where} ${path} (${reason})`, { input: name, cause: error });
  }
}
