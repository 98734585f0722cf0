import type { Logger } from '@titan/log/logger';

/** Where the CLI writes: progress and log lines on stderr, the summary and outputs on stdout. */
export interface TerminalStreams {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** stdout is a terminal that takes colour (a TTY, and NO_COLOR unset). */
  readonly color: boolean;
}

export const processStreams: TerminalStreams = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  color: process.stdout.isTTY && (process.env['NO_COLOR'] ?? '') === '',
};

/**
 * The credentials of this run, redacted from everything the CLI prints (the terminal's counterpart
 * of the runner's `::add-mask::`). Longest first, so that a value containing another is replaced whole.
 */
export class Redactions {
  private readonly values = new Set<string>();

  add(value: string): void {
    if (value.trim().length >= 4) this.values.add(value);
  }

  apply(text: string): string {
    let out = text;
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(value).join('***');
    return out;
  }
}

/**
 * A Logger for a person at a terminal: each phase (`group`) as `▶ name` when it begins and
 * `✔ name (1.2 s)` or `✖ name (failed after 1.2 s)` when it ends, every line stamped with the
 * time since the start, warnings and errors marked, debug lines only with --verbose; every line
 * redacted of the run's credentials.
 */
export function terminalLogger(streams: TerminalStreams, redactions: Redactions, options: { verbose?: boolean; now?: () => number } = {}): Logger {
  const now = options.now ?? Date.now;
  const started = now();
  let depth = 0;
  const stamp = (): string => {
    const s = (now() - started) / 1000;
    const minutes = Math.floor(s / 60);
    return `[${String(minutes).padStart(2, '0')}:${(s - minutes * 60).toFixed(1).padStart(4, '0')}]`;
  };
  const line = (mark: string, message: string): void => {
    const indent = '  '.repeat(depth);
    const text = redactions
      .apply(message)
      .split('\n')
      .map((l, i) => `${stamp()} ${indent}${i === 0 ? mark : ' '.repeat(mark.length)}${l}`)
      .join('\n');
    streams.err(`${text}\n`);
  };
  return {
    debug: (message) => {
      if (options.verbose) line('  debug: ', message);
    },
    info: (message) => line('  ', message),
    warning: (message) => line('⚠ warning: ', message),
    error: (message) => line('✖ error: ', message),
    async group<T>(name: string, run: () => Promise<T>): Promise<T> {
      line('▶ ', name);
      const begun = now();
      depth++;
      try {
        const result = await run();
        depth--;
        line('✔ ', `${name} (${seconds(now() - begun)})`);
        return result;
      } catch (error: unknown) {
        depth--;
        line('✖ ', `${name} (failed after ${seconds(now() - begun)})`);
        throw error;
      }
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
