import { parseArgs } from 'node:util';
import { ConfigurationError } from '@titan/action-kit/configuration-error';
import type { InputSpec } from './action-inputs.js';
import { secretOnCommandLine } from './cli-inputs.js';

/** A command's command line, parsed (util.parseArgs, strict): its inputs' flags and the CLI's own options. */
export interface CommandLine {
  /** Input values and `<input>-file` paths by name, as given. */
  readonly flags: Readonly<Record<string, string | undefined>>;
  readonly help: boolean;
  readonly verbose: boolean;
  readonly summaryFile: string | undefined;
}

const OWN = ['help', 'verbose', 'summary'];

/**
 * Parses a command's arguments against its action's inputs. An unknown flag, a stray word, a flag
 * without its value, or a secret given as a flag is a ConfigurationError (bad input): nothing runs.
 */
export function parseCommandLine(args: readonly string[], inputs: readonly InputSpec[]): CommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    verbose: { type: 'boolean' },
    summary: { type: 'string' },
  };
  for (const input of inputs) {
    if (OWN.includes(input.name)) throw new Error(`the input ${input.name} collides with the CLI's own --${input.name}`);
    options[input.name] = { type: 'string' };
    options[`${input.name}-file`] = { type: 'string' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (error: unknown) {
    // A stray word could be a secret typed in the wrong place: it is never repeated.
    if (error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigurationError('An unexpected word on the command line (not repeated here: it could be a secret): every value follows its --flag. See --help.');
    }
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ConfigurationError(`${message.replace(/\.$/, '')}. See --help.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const input of inputs) {
    if (input.secret && values[input.name] !== undefined) throw secretOnCommandLine(input.name);
  }
  const flags: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) if (typeof value === 'string' && !OWN.includes(name)) flags[name] = value;
  return {
    flags,
    help: values['help'] === true,
    verbose: values['verbose'] === true,
    summaryFile: typeof values['summary'] === 'string' ? values['summary'] : undefined,
  };
}
