/**
 * Running one remote command on an exec channel: the command line (fixed PATH, quoted arguments,
 * the process group id announced first on stderr), streaming output line by line, capturing stdout,
 * checking the exit status and signal, and killing the remote process group on timeout or abort.
 *
 * How the process group is found: sshd starts each session's command in a new session (it calls
 * setsid() before exec'ing the user's shell), so the login shell's pid is also its process group
 * id, and `exec` keeps that pid for the command. The command line therefore starts with
 * `echo titan-ssh-pgid:$$ >&2`; the first stderr line carrying that marker is taken out of the
 * output and remembered. The timeout counts until the channel closes, not until the command's exit
 * status: a background child that holds its output keeps the channel open, and is part of the work.
 * On timeout or abort a second exec channel runs `kill -TERM -- -PGID`, waits
 * up to the grace period for the group to go, then sends `kill -KILL -- -PGID`. This works with any
 * OpenSSH version (channel "signal" requests are ignored before OpenSSH 7.9, and ssh2 only sends them
 * while the channel's stdin is still open).
 */
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '@titan/log/logger';
import {
  CommandAbortedError,
  CommandFailedError,
  CommandTimeoutError,
  ConnectionLostError,
  SshConfigError,
  SshError,
  describeError,
} from './errors.js';
import { type Arg, commandLine, displayCommand, quoteArg, redact, secretValues } from './shell-quote.js';

/** PATH every remote command runs with (set in the command line: sshd refuses most env requests). */
export const REMOTE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const PGID_MARKER = 'titan-ssh-pgid:';
const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_BYTES = 4096;
const MAX_LINE = 64 * 1024;
/** A script is passed inline as one argument; Linux caps one argument at 128 KiB. */
const MAX_SCRIPT_BYTES = 100 * 1024;

/** A trusted shell script run with arguments (`sh -c SCRIPT NAME ARGS...`). */
export interface RemoteScript {
  script: string;
  args?: readonly Arg[];
  /** Interpreter: `sh` (default) or `bash`. */
  shell?: 'sh' | 'bash';
  /** Name shown in logs and errors instead of the script text (and `$0` inside it). */
  name?: string;
}

/** What to run: an argv array (each argument quoted) or a trusted script. */
export type RemoteCommand = readonly Arg[] | RemoteScript;

export interface CommandOptions {
  /** Data for the command's stdin; without it stdin is at end-of-file at once. */
  stdin?: string | Buffer | Readable;
  /** Kills the remote process group after this long. Default: the connection's commandTimeoutMs. */
  timeoutMs?: number;
  /** Aborting kills the remote process group and rejects with CommandAbortedError. */
  signal?: AbortSignal;
  /** How long a killed process group gets between SIGTERM and SIGKILL. Default: the connection's. */
  killGraceMs?: number;
  /** Logger level for each line of output (stdout and stderr). Default `debug`. */
  logOutput?: 'info' | 'debug' | 'none';
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Exit codes that count as success besides 0. */
  acceptExitCodes?: readonly number[];
}

export interface RunOptions extends CommandOptions {
  /** Keep stdout in the result (default true). */
  captureStdout?: boolean;
  /** At most this many bytes of stdout are kept (default 16 MiB); the rest is dropped and flagged. */
  maxStdoutBytes?: number;
}

export interface RunResult {
  exitCode: number;
  /** Captured stdout (UTF-8), empty when captureStdout is false. */
  stdout: string;
  stdoutTruncated: boolean;
  stderrTail: string;
  durationMs: number;
}

export interface StreamResult {
  exitCode: number;
  /** Bytes written to the destination. */
  bytes: number;
  stderrTail: string;
  durationMs: number;
}

/** What the connection gives a running command. */
export interface CommandSession {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly commandTimeoutMs: number;
  readonly killGraceMs: number;
  /** Waits for a free session channel slot; the function returned frees it. */
  acquireSessionSlot(): Promise<() => void>;
  /**
   * Opens an exec channel for `line`. The callback runs inside ssh2's own callback, so listeners
   * attached in it see every event (output, exit status and close can arrive together).
   */
  exec(line: string, purpose: string, callback: (error: Error | undefined, channel: ClientChannel | undefined) => void): void;
  /** Runs a short helper command on its own channel (not counted); resolves with its exit code. */
  runHelper(line: string): Promise<number | null>;
  /** Registers a callback for the loss of the connection; returns the unregistration. */
  onLost(listener: () => void): () => void;
  /**
   * Registers a running command with the connection, so that close() can stop it (kill its remote
   * process group and wait for it to end); returns the unregistration.
   */
  track(stop: () => Promise<void>): () => void;
  /** The error the connection was lost with, if it was. */
  lostError(during: string): ConnectionLostError | undefined;
}

/** The remote command line and how to show it. */
export interface RenderedCommand {
  line: string;
  display: string;
  secrets: string[];
}

function isScript(command: RemoteCommand): command is RemoteScript {
  return !Array.isArray(command);
}

/** Builds the line sent to sshd: announce the process group, fix PATH, exec the quoted command. */
export function renderCommand(command: RemoteCommand): RenderedCommand {
  let argv: readonly Arg[];
  let display: string;
  if (isScript(command)) {
    const bytes = Buffer.byteLength(command.script);
    if (bytes > MAX_SCRIPT_BYTES) {
      throw new SshConfigError(
        `Script ${command.name ?? ''} is ${bytes} bytes; scripts are passed as one argument and must stay under ${MAX_SCRIPT_BYTES} bytes. Upload it as a file and run that instead.`,
      );
    }
    const shell = command.shell ?? 'sh';
    const name = command.name ?? 'script';
    const args = command.args ?? [];
    argv = [shell, '-c', command.script, name, ...args];
    display = [`${shell} -c <${name}>`, ...(args.length > 0 ? [displayCommand(args)] : [])].join(' ');
  } else {
    const args = command;
    if (args.length === 0) throw new SshConfigError('A remote command needs at least a program name.');
    argv = args;
    display = displayCommand(args);
  }
  const line = `echo ${PGID_MARKER}$$ >&2; PATH=${quoteArg(REMOTE_PATH)}; export PATH; exec ${commandLine(argv)}`;
  return { line, display, secrets: secretValues(argv) };
}

/**
 * The helper that kills a process group: SIGTERM, wait until no live process is left in the group
 * (polling every 50 ms) for at most the grace period (coreutils `timeout`), SIGKILL, wait up to 3 s
 * more. Zombies count as gone: an orphan is reaped whenever PID 1 gets to it. Exit status 0 means
 * the group is gone.
 */
export function killGroupLine(pgid: number, graceMs: number): string {
  const grace = (Math.max(50, graceMs) / 1000).toFixed(3);
  const waitGone =
    `while ps -eo pgid=,stat= | awk -v g="$g" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; do sleep 0.05; done`;
  return [
    '# shellcheck disable=SC2016 # the waiting loop is single-quoted on purpose: its own sh expands $g',
    `g=${pgid}; export g`,
    'kill -TERM -- -"$g" 2>/dev/null || exit 0',
    `timeout ${grace} sh -c ${quoteArg(waitGone)} && exit 0`,
    'kill -KILL -- -"$g" 2>/dev/null || exit 0',
    `timeout 3 sh -c ${quoteArg(waitGone)}`,
  ].join('\n');
}

/** Splits a byte stream into lines (UTF-8 safe), calling `emit` for each complete line. */
class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  readonly #emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#emit(line.endsWith('\r') ? line.slice(0, -1) : line);
    while (this.#partial.length > MAX_LINE) {
      this.#emit(this.#partial.slice(0, MAX_LINE));
      this.#partial = this.#partial.slice(MAX_LINE);
    }
  }

  flush(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#emit(rest);
  }
}

/** Keeps the last lines of stderr (bounded) for error messages. */
class StderrTail {
  #lines: string[] = [];
  #chars = 0;

  push(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
    while (this.#lines.length > STDERR_TAIL_LINES || (this.#chars > STDERR_TAIL_BYTES && this.#lines.length > 1)) {
      this.#chars -= (this.#lines.shift() ?? '').length + 1;
    }
  }

  text(): string {
    const joined = this.#lines.join('\n');
    return joined.length > STDERR_TAIL_BYTES ? joined.slice(-STDERR_TAIL_BYTES) : joined;
  }
}

interface Sink {
  /** Where stdout goes: captured (run) or piped to a Writable (stream). */
  mode: 'capture' | 'stream';
  destination?: Writable;
  captureStdout: boolean;
  maxStdoutBytes: number;
}

type KillReason = { kind: 'timeout' } | { kind: 'abort'; reason: unknown } | { kind: 'io'; error: unknown };

interface Outcome {
  exitCode: number;
  stdout: Buffer;
  stdoutTruncated: boolean;
  bytes: number;
  stderrTail: string;
  durationMs: number;
}

async function execute(session: CommandSession, command: RemoteCommand, options: RunOptions, sink: Sink): Promise<Outcome> {
  const rendered = renderCommand(command);
  const { display, secrets } = rendered;
  const logger = session.logger;
  const timeoutMs = options.timeoutMs ?? session.commandTimeoutMs;
  const graceMs = options.killGraceMs ?? session.killGraceMs;
  const logLevel = options.logOutput ?? 'debug';
  const during = `the command ${display}`;
  const started = performance.now();

  const lostBefore = session.lostError(during);
  if (lostBefore) throw lostBefore;
  if (options.signal?.aborted) {
    throw new CommandAbortedError({ command: display, stderrTail: '', reason: options.signal.reason });
  }
  const release = await session.acquireSessionSlot();
  // Waiting for a slot may have taken a while: look again.
  const lostWhileQueued = session.lostError(during);
  if (lostWhileQueued || options.signal?.aborted) {
    release();
    throw lostWhileQueued ?? new CommandAbortedError({ command: display, stderrTail: '', reason: options.signal?.reason });
  }
  logger.debug(`$ ${display}`);

  return new Promise<Outcome>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    /** The exit status (or signal) when it came before any kill: the channel stayed open after it. */
    let exitedEarly: number | string | undefined;
    let pgid: number | undefined;
    let killReason: KillReason | undefined;
    let killDone: Promise<boolean> | undefined;
    let stdoutBytes = 0;
    let stdoutTruncated = false;
    const captured: Buffer[] = [];
    const tail = new StderrTail();
    let destinationFinished = sink.mode !== 'stream';
    let channelClosed = false;
    let stderrEnded = false;
    let timer: NodeJS.Timeout | undefined;

    const logLine = (line: string): void => {
      if (logLevel === 'info') logger.info(line);
      else if (logLevel === 'debug') logger.debug(line);
    };

    const stdoutLines = new LineSplitter((raw) => {
      const line = redact(raw, secrets);
      logLine(line);
      options.onStdoutLine?.(line);
    });
    const stderrLines = new LineSplitter((raw) => {
      if (pgid === undefined && raw.startsWith(PGID_MARKER)) {
        const value = Number.parseInt(raw.slice(PGID_MARKER.length), 10);
        if (Number.isSafeInteger(value) && value > 1) {
          pgid = value;
          if (awaitingPgid && killDone === undefined && channel) killGroup(channel, value);
          return;
        }
      }
      const line = redact(raw, secrets);
      tail.push(line);
      logLine(line);
      options.onStderrLine?.(line);
    });

    const onAbort = (): void => kill({ kind: 'abort', reason: options.signal?.reason });
    let markSettled: () => void = () => undefined;
    const whenSettled = new Promise<void>((resolve) => {
      markSettled = resolve;
    });
    const untrack = session.track(async () => {
      kill({ kind: 'abort', reason: 'the SSH connection was closed by the caller' });
      await whenSettled;
    });

    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      unsubscribeLost();
      untrack();
      markSettled();
      release();
      // A command that exits without reading all its input leaves the source paused: let go of it.
      if (options.stdin !== undefined && typeof options.stdin !== 'string' && !Buffer.isBuffer(options.stdin) && channel) {
        options.stdin.unpipe(channel);
      }
      const durationMs = Math.round(performance.now() - started);
      if (error) {
        logger.debug(`! ${display}: ${error.name} after ${durationMs} ms`);
        reject(error);
        return;
      }
      resolve({
        exitCode: exitCode ?? 0,
        stdout: Buffer.concat(captured),
        stdoutTruncated,
        bytes: stdoutBytes,
        stderrTail: tail.text(),
        durationMs,
      });
    };

    let killBeforeChannel: KillReason | undefined;
    let awaitingPgid = false;

    const closeChannelSoon = (ch: ClientChannel): void => {
      setTimeout(() => {
        if (!channelClosed) ch.close();
      }, 2000).unref();
    };

    function killGroup(ch: ClientChannel, group: number): void {
      logger.debug(`killing remote process group ${group} of ${display}`);
      killDone = session.runHelper(killGroupLine(group, graceMs)).then(
        (code) => code === 0,
        () => false,
      );
      // Whatever the helper achieved, do not wait for the channel forever.
      void killDone.then(() => closeChannelSoon(ch));
    }

    function kill(reason: KillReason): void {
      if (killReason || settled) return;
      if (!channel) {
        killBeforeChannel ??= reason;
        return;
      }
      const ch = channel;
      killReason = reason;
      clearTimeout(timer);
      if (pgid !== undefined) {
        killGroup(ch, pgid);
        return;
      }
      // The shell has not announced its process group yet (it is the first thing it does): wait for
      // it a little, then fall back to closing the channel.
      awaitingPgid = true;
      setTimeout(() => {
        if (killDone === undefined) {
          killDone = Promise.resolve(false);
          ch.close();
        }
      }, 2000).unref();
    }

    const finish = async (): Promise<void> => {
      if (settled || !channelClosed || !destinationFinished || !stderrEnded) return;
      stdoutLines.flush();
      stderrLines.flush();
      const stderrTail = tail.text();
      if (killReason) {
        const killed = killDone ? await killDone : false;
        if (killReason.kind === 'timeout') {
          settle(new CommandTimeoutError({ command: display, timeoutMs, stderrTail, killed, exited: exitedEarly }));
        } else if (killReason.kind === 'abort') {
          settle(new CommandAbortedError({ command: display, stderrTail, reason: killReason.reason }));
        } else {
          const cause = killReason.error;
          settle(cause instanceof Error ? cause : new SshError(`${display}: ${describeError(cause)}`));
        }
        return;
      }
      if (exitSignal !== null) {
        settle(new CommandFailedError({ command: display, exitCode: null, signal: exitSignal, stderrTail }));
      } else if (exitCode === null) {
        settle(session.lostError(during) ?? new CommandFailedError({ command: display, exitCode: null, signal: null, stderrTail }));
      } else if (exitCode !== 0 && !(options.acceptExitCodes ?? []).includes(exitCode)) {
        settle(new CommandFailedError({ command: display, exitCode, signal: null, stderrTail }));
      } else {
        settle(undefined);
      }
    };

    const recordExit = (code: unknown, signal: unknown): void => {
      if (exitCode !== null || exitSignal !== null) return;
      if (typeof code === 'number') exitCode = code;
      else if (typeof signal === 'string') exitSignal = signal.replace(/^SIG/, '');
    };

    // Everything is wired synchronously inside ssh2's callback: data, the exit status and the
    // close can arrive in the same TCP segment as the channel's confirmation.
    const wire = (ch: ClientChannel): void => {
      channel = ch;
      ch.on('error', (error: unknown) => logger.debug(`channel error on ${display}: ${describeError(error)}`));
      // The timeout keeps running after the exit status: a command is done only when its channel
      // closes, and a background child still holding stdout or stderr keeps it open (it is killed
      // with the rest of the process group when the timeout comes).
      ch.on('exit', (code: unknown, signal: unknown) => {
        recordExit(code, signal);
        if (killReason === undefined) exitedEarly = exitCode ?? exitSignal ?? undefined;
      });
      // ssh2 repeats the exit status as the arguments of 'close', which it emits after the output ended.
      ch.on('close', (code: unknown, signal: unknown) => {
        recordExit(code, signal);
        channelClosed = true;
        const destination = sink.destination;
        if (sink.mode === 'stream' && !destinationFinished && destination && !destination.writableEnded) {
          // ssh2 emits 'close' only after the output ended, so pipe() has ended the destination
          // already; this only covers a channel that was torn down.
          ch.unpipe(destination);
          destination.end();
        }
        void finish();
      });

      ch.stderr.on('data', (chunk: Buffer) => stderrLines.push(chunk));
      const onStderrEnd = (): void => {
        stderrEnded = true;
        void finish();
      };
      ch.stderr.once('end', onStderrEnd);
      ch.stderr.once('close', onStderrEnd);

      if (sink.mode === 'stream' && sink.destination) {
        const destination = sink.destination;
        ch.on('data', (chunk: Buffer) => {
          stdoutBytes += chunk.length;
        });
        destination.once('error', (error: unknown) => {
          ch.unpipe(destination);
          ch.resume();
          destinationFinished = true;
          kill({ kind: 'io', error });
          void finish();
        });
        destination.once('finish', () => {
          destinationFinished = true;
          void finish();
        });
        ch.pipe(destination);
      } else {
        ch.on('data', (chunk: Buffer) => {
          stdoutBytes += chunk.length;
          if (sink.captureStdout) {
            const room = sink.maxStdoutBytes - (stdoutBytes - chunk.length);
            if (room >= chunk.length) captured.push(chunk);
            else {
              if (room > 0) captured.push(chunk.subarray(0, room));
              if (!stdoutTruncated) logger.warning(`stdout of ${display} exceeded ${sink.maxStdoutBytes} bytes; the rest is not kept`);
              stdoutTruncated = true;
            }
          }
          if (logLevel !== 'none' || options.onStdoutLine) stdoutLines.push(chunk);
        });
      }

      const stdin = options.stdin;
      if (stdin === undefined) {
        ch.end();
      } else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
        ch.end(stdin);
      } else {
        stdin.once('error', (error: unknown) => {
          stdin.unpipe(ch);
          kill({ kind: 'io', error });
        });
        stdin.pipe(ch);
      }

      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) timer = setTimeout(() => kill({ kind: 'timeout' }), timeoutMs);
      if (killBeforeChannel) kill(killBeforeChannel);
      else if (options.signal?.aborted) onAbort();
    };

    const unsubscribeLost = session.onLost(() => {
      channel?.destroy();
      settle(session.lostError(during) ?? new ConnectionLostError(session.host, session.port, during));
    });
    session.exec(rendered.line, display, (error, ch) => {
      if (error || !ch) settle(error ?? new SshError(`No channel for ${display}`));
      else if (settled) ch.close();
      else wire(ch);
    });
  });
}

/** Runs a command, capturing stdout; rejects on a non-zero exit, a signal, a timeout or a lost connection. */
export async function runCommand(session: CommandSession, command: RemoteCommand, options: RunOptions = {}): Promise<RunResult> {
  const outcome = await execute(session, command, options, {
    mode: 'capture',
    captureStdout: options.captureStdout ?? true,
    maxStdoutBytes: options.maxStdoutBytes ?? 16 * 1024 * 1024,
  });
  return {
    exitCode: outcome.exitCode,
    stdout: outcome.stdout.toString('utf8'),
    stdoutTruncated: outcome.stdoutTruncated,
    stderrTail: outcome.stderrTail,
    durationMs: outcome.durationMs,
  };
}

/**
 * Runs a command and pipes its stdout into `destination` with backpressure (the remote side is
 * paused while the destination is full); the destination is ended when the output ends. Resolves
 * once the destination has finished and the exit status was checked.
 */
export async function streamCommand(
  session: CommandSession,
  command: RemoteCommand,
  destination: Writable,
  options: CommandOptions = {},
): Promise<StreamResult> {
  const outcome = await execute(session, command, { ...options, logOutput: options.logOutput ?? 'debug' }, {
    mode: 'stream',
    destination,
    captureStdout: false,
    maxStdoutBytes: 0,
  });
  return { exitCode: outcome.exitCode, bytes: outcome.bytes, stderrTail: outcome.stderrTail, durationMs: outcome.durationMs };
}
