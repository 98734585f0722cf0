/**
 * What one running remote command prints, as the runner sees it: stdout kept (bounded) or counted,
 * both streams cut into lines, each line redacted, logged at the asked level and handed to the
 * caller's line callbacks, the process group announcement taken out of stderr (command-line.ts),
 * and the tail of stderr that error messages quote.
 */
import type { Logger } from '@titan/log/logger';
import type { CommandOptions } from './command-session.js';
import { PGID_MARKER } from './command-line.js';
import { LineSplitter, StderrTail, StdoutCapture } from './output-lines.js';
import { redact } from './shell-quote.js';

export interface CommandOutputInit {
  readonly logger: Logger;
  /** The command as logged. */
  readonly display: string;
  /** Values never shown: replaced in every line logged or handed on. */
  readonly secrets: readonly string[];
  readonly options: Pick<CommandOptions, 'logOutput' | 'onStdoutLine' | 'onStderrLine'>;
  /** Keep stdout (at most maxStdoutBytes) for the result. */
  readonly captureStdout: boolean;
  readonly maxStdoutBytes: number;
  /** The process group the shell announced, until it is known (GroupKill). */
  readonly processGroup: { readonly pgidKnown: boolean; announce(pgid: number): void };
}

export class CommandOutput {
  readonly stdout: StdoutCapture;
  readonly #tail = new StderrTail();
  readonly #stdoutLines: LineSplitter;
  readonly #stderrLines: LineSplitter;
  /** Stdout is cut into lines only when someone reads them (the logger or a callback). */
  readonly #stdoutRead: boolean;

  constructor(init: CommandOutputInit) {
    const { logger, display, secrets, options } = init;
    const level = options.logOutput ?? 'debug';
    this.#stdoutRead = level !== 'none' || options.onStdoutLine !== undefined;
    const logLine = (line: string): void => {
      if (level === 'info') logger.info(line);
      else if (level === 'debug') logger.debug(line);
    };
    this.stdout = new StdoutCapture(init.captureStdout, init.maxStdoutBytes, () =>
      logger.warning(`stdout of ${display} exceeded ${init.maxStdoutBytes} bytes; the rest is not kept`),
    );
    this.#stdoutLines = new LineSplitter((raw) => {
      const line = redact(raw, secrets);
      logLine(line);
      options.onStdoutLine?.(line);
    });
    this.#stderrLines = new LineSplitter((raw) => {
      if (!init.processGroup.pgidKnown && raw.startsWith(PGID_MARKER)) {
        const value = Number.parseInt(raw.slice(PGID_MARKER.length), 10);
        if (Number.isSafeInteger(value) && value > 1) {
          init.processGroup.announce(value);
          return;
        }
      }
      const line = redact(raw, secrets);
      this.#tail.push(line);
      logLine(line);
      options.onStderrLine?.(line);
    });
  }

  /** A chunk of stdout the runner keeps (run). */
  stdoutChunk(chunk: Buffer): void {
    this.stdout.push(chunk);
    if (this.#stdoutRead) this.#stdoutLines.push(chunk);
  }

  /** A chunk of stdout piped to a destination (stream): counted only. */
  streamedChunk(chunk: Buffer): void {
    this.stdout.count(chunk);
  }

  stderrChunk(chunk: Buffer): void {
    this.#stderrLines.push(chunk);
  }

  /** The output ended: the last partial lines are emitted. */
  flush(): void {
    this.#stdoutLines.flush();
    this.#stderrLines.flush();
  }

  /** The last lines of stderr (bounded), for error messages. */
  stderrTail(): string {
    return this.#tail.text();
  }
}
