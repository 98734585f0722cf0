import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import { listenForCancellation } from './cancellation.js';
import { isConfigurationError } from './configuration-error.js';
import { JobSummary, summaryWritten } from './job-summary.js';

/** What the entry point gives an action's run(). */
export interface ActionContext {
  /**
   * Aborted (reason `SIGINT` or `SIGTERM`) when the runner cancels the step. GitHub sends SIGINT,
   * then SIGTERM 7.5 s later, then kills the process tree 2.5 s after that.
   */
  readonly signal: AbortSignal;
}

export interface RunActionOptions {
  /** The action's name in the fallback summary (`Deploy`, `Rollback`, ...). */
  readonly name: string;
  /**
   * The action stops at its own safe points when the signal aborts (it holds host state that must
   * be left safe). Otherwise a cancellation ends the process at once, after writing the summary.
   */
  readonly cancellable?: boolean;
}

/**
 * The one top-level catch of an action's entry point: any failure becomes `core.setFailed` with a
 * message a person can act on. A ConfigurationError says it is the caller's input to fix. Every run
 * leaves a job summary, however it ends: an action that failed before writing its own gets one
 * saying what went wrong. SIGINT and SIGTERM become the context's AbortSignal for a cancellable
 * action (./cancellation.ts). Never calls process.exit for a cancellable action before its work
 * ends: `finally` blocks (locks, connections) always run; a cancelled one exits as soon as they have.
 */
export async function runAction(main: (context: ActionContext) => Promise<void>, options: RunActionOptions = { name: 'Action' }): Promise<void> {
  const cancellation = listenForCancellation({
    title: options.name,
    cancellable: options.cancellable === true,
    warn: (message) => core.warning(message),
    stillStopping: ' (the runner ends the process 10 s after the first signal)',
    endNow: (name) => {
      core.setFailed(`${options.name} was cancelled (${name}) before it finished.`);
      if (!summaryWritten()) writeSummaryNow(`## ⏹️ ${options.name} cancelled\n\nThe run was cancelled (${name}) before it finished; nothing it would have reported is known.\n`);
      process.exit(1);
    },
  });
  try {
    await main({ signal: cancellation.signal });
  } catch (error: unknown) {
    const message = failureMessage(error);
    core.setFailed(message);
    if (error instanceof Error && error.stack !== undefined) core.debug(error.stack);
    if (!summaryWritten()) {
      await new JobSummary()
        .heading(`❌ ${options.name} failed`, 2)
        .text(message.split('\n')[0] ?? '')
        .write()
        .catch((e: unknown) => core.warning(`Could not write the job summary: ${e instanceof Error ? e.message : String(e)}`));
    }
  } finally {
    cancellation.stop();
  }
  // A cancelled run ends once its work and every finally block are done (the lock released, the
  // journal and summary written): a handle still open (a socket closing, a library's timer) must
  // not keep it alive until the runner's SIGTERM kills it without its exit status. What was still
  // open is in the debug log.
  if (cancellation.signal.aborted) {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
    if (open.length > 0) core.debug(`still open as the cancelled run exits: ${open.join(', ')}`);
    process.exit();
  }
}

export function failureMessage(error: unknown): string {
  if (isConfigurationError(error)) return `Configuration error: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Appends to the job summary file at once (a process about to exit cannot wait for a promise). */
function writeSummaryNow(markdown: string): void {
  const file = process.env['GITHUB_STEP_SUMMARY'];
  if (file === undefined || file === '') return;
  try {
    appendFileSync(file, markdown);
  } catch {
    // the step fails anyway; the runner shows the failure
  }
}
