import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { listenForCancellation } from '@titan/action-kit/cancellation';
import { isConfigurationError } from '@titan/action-kit/configuration-error';
import { readInputsFrom } from '@titan/action-kit/inputs';
import { registerSecretsWith } from '@titan/action-kit/masking';
import { failureMessage } from '@titan/action-kit/run-action';
import { readActionSpec } from './action-inputs.js';
import { CliInputs } from './cli-inputs.js';
import { parseCommandLine, type CommandLine } from './command-line.js';
import type { Command } from './commands.js';
import { EXIT, type ExitStatus } from './exit-codes.js';
import { commandHelp } from './help.js';
import { outputsToShow, renderOutputs, renderSummary } from './summary-text.js';
import { Redactions, terminalLogger, type TerminalStreams } from './terminal.js';

export interface RunOptions {
  /** The repository the CLI runs from (where the actions' action.yml files are). */
  readonly repository: string;
  readonly streams: TerminalStreams;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs one command as a runner runs its action, in this process: the action's inputs from the
 * command line, the environment and files; its outputs and job summary through files of the
 * runner's kind (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) in a private scratch folder, shown on stdout
 * once the run ends (or the summary written to --summary FILE); progress on stderr. SIGINT and
 * SIGTERM have the actions' meaning (@titan/action-kit/cancellation): a cancellable run stops at
 * its next safe point, its finally blocks (lock, journal, summary) run, and the CLI exits with the
 * cancelled status; any other run ends at once with its summary saying it was cancelled. Returns
 * the exit status.
 */
export async function runCommand(command: Command, args: readonly string[], options: RunOptions): Promise<ExitStatus> {
  const { streams } = options;
  const env = options.env ?? process.env;
  const spec = readActionSpec(options.repository, command.actionDir);
  let line: CommandLine;
  try {
    line = parseCommandLine(args, spec.inputs);
  } catch (error: unknown) {
    streams.err(`titan ${command.name}: ${failureMessage(error)}\n`);
    return EXIT.badInput;
  }
  if (line.help) {
    streams.out(commandHelp(command, spec));
    return EXIT.ok;
  }

  const redactions = new Redactions();
  registerSecretsWith((value) => redactions.add(value));
  readInputsFrom(new CliInputs(spec.inputs, line.flags, env));
  const scratch = mkdtempSync(join(tmpdir(), 'titan-cli-'));
  const outputFile = join(scratch, 'output');
  const summaryFile = join(scratch, 'summary');
  writeFileSync(outputFile, '', { mode: 0o600 });
  writeFileSync(summaryFile, '', { mode: 0o600 });
  // The action's own writers (core.setOutput, JobSummary.write) append to these files, as on a runner.
  process.env['GITHUB_OUTPUT'] = outputFile;
  process.env['GITHUB_STEP_SUMMARY'] = summaryFile;
  // Who ran it, for the lock holder and the host's journal (a runner says GITHUB_ACTOR).
  if ((env['GITHUB_ACTOR'] ?? '') === '') process.env['GITHUB_ACTOR'] = `${userInfo().username}@${hostname()} (titan CLI)`;
  const logger = terminalLogger(streams, redactions, { verbose: line.verbose });

  const finish = (status: ExitStatus, failure: string | undefined): ExitStatus => {
    let markdown = readFileSync(summaryFile, 'utf8');
    if (markdown.trim() === '' && failure !== undefined) markdown = `## ${status === EXIT.cancelled ? '⏹️' : '❌'} ${command.title} ${status === EXIT.cancelled ? 'cancelled' : 'failed'}\n\n${failure}\n`;
    markdown = redactions.apply(markdown);
    if (markdown.trim() !== '') {
      if (line.summaryFile === undefined) {
        streams.out(`\n${renderSummary(markdown, { color: streams.color })}\n`);
      } else {
        writeFileSync(resolve(line.summaryFile), markdown, { mode: 0o644 });
        streams.err(`Summary written to ${line.summaryFile}\n`);
      }
    }
    streams.out(redactions.apply(renderOutputs(outputsToShow(readFileSync(outputFile, 'utf8')))));
    if (failure !== undefined) streams.err(`\ntitan ${command.name}: ${redactions.apply(failure)}\n`);
    rmSync(scratch, { recursive: true, force: true });
    return status;
  };

  const cancellation = listenForCancellation({
    title: command.title,
    cancellable: command.cancellable,
    warn: (message) => logger.warning(message),
    endNow: (name) => {
      appendFileSync(summaryFile, '');
      process.exit(finish(EXIT.cancelled, `${command.title} was cancelled (${name}) before it finished; nothing it would have reported is known.`));
    },
  });
  const { signal } = cancellation;
  try {
    await command.run(logger, signal);
    return finish(signal.aborted ? EXIT.cancelled : EXIT.ok, signal.aborted ? `${command.title} was cancelled (${String(signal.reason)}).` : undefined);
  } catch (error: unknown) {
    const message = failureMessage(error);
    if (error instanceof Error && error.stack !== undefined) logger.debug(error.stack);
    if (signal.aborted) return finish(EXIT.cancelled, message);
    if (isConfigurationError(error)) {
      const status = finish(EXIT.badInput, undefined);
      streams.err(`titan ${command.name}: ${redactions.apply(message)}\nSee npx @titan/cli ${command.name} --help.\n`);
      return status;
    }
    return finish(EXIT.failed, message);
  } finally {
    cancellation.stop();
  }
}
