import { environmentName, type ActionSpec, type InputSpec } from './action-inputs.js';
import type { Command } from './commands.js';
import { COMMANDS } from './commands.js';
import { EXIT_CODE_HELP } from './exit-codes.js';

const WIDTH = 100;

const COMMON = [
  '  --summary FILE   write the summary (Markdown, as the job summary) to FILE instead of rendering it on stdout',
  '  --verbose        show debug lines',
  '  -h, --help       this help',
].join('\n');

const SOURCES =
  'Every input is a flag --NAME VALUE, a file --NAME-file FILE, an environment variable TITAN_NAME (dashes as underscores, upper case) or a file named by TITAN_NAME_FILE, in that order, else its default. ' +
  'Secrets (keys, tokens, passwords) are refused as flags, whose values every user of the machine can read: give them in the environment or in a file.';

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'titan: the break-glass CLI of Titan Actions. Runs the actions in a terminal, over the same code, with the same inputs, checks and summaries (for the day GitHub is down).',
    '',
    'Usage: npx @titan/cli <command> [--input value ...]    (from a clone of the repository)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.about}`),
    '',
    'Run `npx @titan/cli <command> --help` for its inputs.',
    '',
    wrap(SOURCES, ''),
    '',
    'Progress goes to stderr; the summary and the outputs to stdout.',
    '',
    'Exit status:',
    EXIT_CODE_HELP,
    '',
  ].join('\n');
}

export function commandHelp(command: Command, spec: ActionSpec): string {
  const inputs = spec.inputs.map(inputHelp).join('\n');
  return [
    `Usage: npx @titan/cli ${command.name} [--input value ...]`,
    '',
    wrap(`${spec.title}: ${spec.description}`, ''),
    '',
    `Inputs (the inputs of ${command.actionDir}/action.yml):`,
    inputs,
    '',
    'Options:',
    COMMON,
    '',
    wrap(SOURCES, ''),
    command.cancellable
      ? '\nSIGINT or SIGTERM stops the run at its next safe point: the host is left safe, the lock released, the journal and the summary written.'
      : '\nSIGINT or SIGTERM ends the run at once (it holds no host state to leave safe); the summary says it was cancelled.',
    '',
    'Exit status:',
    EXIT_CODE_HELP,
    '',
  ].join('\n');
}

function inputHelp(input: InputSpec): string {
  const variable = environmentName(input.name);
  const how = input.secret
    ? `${variable} or --${input.name}-file FILE (secret: never a flag)`
    : `--${input.name} VALUE, --${input.name}-file FILE or ${variable}`;
  const marks = [input.required ? 'required' : undefined, input.default !== undefined && input.default !== '' ? `default: ${input.default}` : undefined].filter((m) => m !== undefined);
  return [`  ${input.name}${marks.length > 0 ? ` (${marks.join('; ')})` : ''}`, `      ${how}`, wrap(input.description, '      ')].join('\n');
}

function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n');
}
