import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One input of an action, as its action.yml declares it: the CLI's flags are the action's inputs. */
export interface InputSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  /** action.yml's default (the runner applies it; so does the CLI). */
  readonly default: string | undefined;
  /** A credential: read only from the environment or a file, never from the command line. */
  readonly secret: boolean;
}

export interface ActionSpec {
  readonly title: string;
  readonly description: string;
  readonly inputs: readonly InputSpec[];
}

/**
 * The inputs every action reads with `reader.secret` (credentials). The CLI refuses them as flags
 * (argv is visible in the process list); its input source refuses any other input an action reads
 * as a secret too (`CliInputs.secret`), so a credential missing here is still never taken from argv.
 */
export const SECRET_INPUTS: ReadonlySet<string> = new Set([
  'ssh-key',
  'ssh-key-passphrase',
  'jump-ssh-key',
  'nats-password',
  'hmac-secret',
  'github-token',
  'token',
  'digitalocean-token',
  'values',
  'verify-key',
  'restore-key',
  'spaces-access-key',
  'spaces-secret-key',
  'signing-key',
]);

interface ActionYaml {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string | number | boolean }>;
}

/** Reads `<repository>/<actionDir>/action.yml`: the one list of an action's inputs, for the runner and the CLI. */
export function readActionSpec(repository: string, actionDir: string): ActionSpec {
  const file = join(repository, actionDir, 'action.yml');
  const yaml = parse(readFileSync(file, 'utf8')) as ActionYaml;
  const inputs = Object.entries(yaml.inputs ?? {}).map(
    ([name, input]): InputSpec => ({
      name,
      description: (input.description ?? '').replace(/\s+/g, ' ').trim(),
      required: input.required === true,
      default: input.default === undefined ? undefined : String(input.default),
      secret: SECRET_INPUTS.has(name),
    }),
  );
  return { title: yaml.name ?? actionDir, description: (yaml.description ?? '').replace(/\s+/g, ' ').trim(), inputs };
}

/** `ssh-key` -> `TITAN_SSH_KEY`. */
export function environmentName(input: string): string {
  return `TITAN_${input.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
}
