/**
 * The logger every library takes. Libraries never import @actions/core: an action hands them a
 * logger backed by the runner's log, a terminal hands them one backed by stdout, a test one that
 * records what a user would see.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Runs one phase of the work under a heading (a collapsible group on a runner). */
  group<T>(name: string, run: () => Promise<T>): Promise<T>;
}

/** A logger for terminals and scripts: one line per message on stderr/stdout. */
export function consoleLogger(options: { debug?: boolean; prefix?: string } = {}): Logger {
  const prefix = options.prefix ?? '';
  return {
    debug(message) {
      if (options.debug) process.stdout.write(`${prefix}${message}\n`);
    },
    info(message) {
      process.stdout.write(`${prefix}${message}\n`);
    },
    warning(message) {
      process.stderr.write(`${prefix}warning: ${message}\n`);
    },
    error(message) {
      process.stderr.write(`${prefix}error: ${message}\n`);
    },
    async group(name, run) {
      process.stdout.write(`${prefix}== ${name}\n`);
      return run();
    },
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warning' | 'error' | 'group';
  message: string;
}

/** A logger that keeps every line, for tests that assert on what a user would read. */
export interface RecordingLogger extends Logger {
  readonly lines: LogLine[];
  text(): string;
}

export function recordingLogger(echo?: Logger): RecordingLogger {
  const lines: LogLine[] = [];
  const keep =
    (level: 'debug' | 'info' | 'warning' | 'error') =>
    (message: string): void => {
      lines.push({ level, message });
      echo?.[level](message);
    };
  return {
    lines,
    text: () => lines.map((l) => `${l.level}: ${l.message}`).join('\n'),
    debug: keep('debug'),
    info: keep('info'),
    warning: keep('warning'),
    error: keep('error'),
    async group(name, run) {
      lines.push({ level: 'group', message: name });
      return run();
    },
  };
}

/** A logger that drops everything (benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  group: (_name, run) => run(),
};
