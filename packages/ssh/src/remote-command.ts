/**
 * Running one remote command on an exec channel: admitted to the connection (command-admission.ts),
 * the command line (fixed PATH, quoted arguments, the process group id announced first on stderr:
 * command-line.ts), its stdin (command-stdin.ts), its output (command-output.ts), its exit status or
 * signal judged (command-exit.ts), and the remote process group killed on timeout or abort
 * (group-kill.ts, which says how the group is found). The timeout counts until the channel closes,
 * not until the command's exit status: a background child that holds its output keeps the channel
 * open, and is part of the work.
 */
import type { Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import type { CommandOptions, CommandSession, RunOptions, RunResult, StreamResult } from './command-session.js';
import { type RemoteCommand, renderCommand } from './command-line.js';
import { admitCommand } from './command-admission.js';
import { CommandOutput } from './command-output.js';
import { feedStdin, releaseStdin } from './command-stdin.js';
import { exitError } from './command-exit.js';
import { ConnectionLostError, SshError, describeError } from './errors.js';
import { GroupKill } from './group-kill.js';

interface Sink {
  /** Where stdout goes: captured (run) or piped to a Writable (stream). */
  mode: 'capture' | 'stream';
  destination?: Writable;
  captureStdout: boolean;
  maxStdoutBytes: number;
}

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
  const during = `the command ${display}`;
  const started = performance.now();

  const release = await admitCommand(session, display, during, options.signal);
  logger.debug(`$ ${display}`);

  return new Promise<Outcome>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    /** The exit status (or signal) when it came before any kill: the channel stayed open after it. */
    let exitedEarly: number | string | undefined;
    const output = new CommandOutput({
      logger,
      display,
      secrets,
      options,
      captureStdout: sink.captureStdout,
      maxStdoutBytes: sink.maxStdoutBytes,
      processGroup: { get pgidKnown() { return killer.pgidKnown; }, announce: (pgid) => killer.announce(pgid) },
    });
    let destinationFinished = sink.mode !== 'stream';
    let channelClosed = false;
    let stderrEnded = false;
    let timer: NodeJS.Timeout | undefined;

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
      releaseStdin(channel, options.stdin);
      const durationMs = Math.round(performance.now() - started);
      if (error) {
        logger.debug(`! ${display}: ${error.name} after ${durationMs} ms`);
        reject(error);
        return;
      }
      resolve({
        exitCode: exitCode ?? 0,
        stdout: output.stdout.kept(),
        stdoutTruncated: output.stdout.truncated,
        bytes: output.stdout.bytes,
        stderrTail: output.stderrTail(),
        durationMs,
      });
    };

    const killer = new GroupKill(session, display, graceMs, {
      settled: () => settled,
      channelClosed: () => channelClosed,
      onKill: () => clearTimeout(timer),
    });
    const kill = killer.kill.bind(killer);

    const finish = async (): Promise<void> => {
      if (settled || !channelClosed || !destinationFinished || !stderrEnded) return;
      output.flush();
      const stderrTail = output.stderrTail();
      if (killer.reason) {
        settle(await killer.error({ timeoutMs, stderrTail, exited: exitedEarly }));
        return;
      }
      settle(exitError({ display, exitCode, exitSignal, stderrTail, acceptExitCodes: options.acceptExitCodes, lost: session.lostError(during) }));
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
      killer.attach(ch);
      ch.on('error', (error: unknown) => logger.debug(`channel error on ${display}: ${describeError(error)}`));
      // The timeout keeps running after the exit status: a command is done only when its channel
      // closes, and a background child still holding stdout or stderr keeps it open (it is killed
      // with the rest of the process group when the timeout comes).
      ch.on('exit', (code: unknown, signal: unknown) => {
        recordExit(code, signal);
        if (killer.reason === undefined) exitedEarly = exitCode ?? exitSignal ?? undefined;
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

      ch.stderr.on('data', (chunk: Buffer) => output.stderrChunk(chunk));
      const onStderrEnd = (): void => {
        stderrEnded = true;
        void finish();
      };
      ch.stderr.once('end', onStderrEnd);
      ch.stderr.once('close', onStderrEnd);

      if (sink.mode === 'stream' && sink.destination) {
        const destination = sink.destination;
        ch.on('data', (chunk: Buffer) => output.streamedChunk(chunk));
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
        ch.on('data', (chunk: Buffer) => output.stdoutChunk(chunk));
      }

      feedStdin(ch, options.stdin, (error) => kill({ kind: 'io', error }));

      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) timer = setTimeout(() => kill({ kind: 'timeout' }), timeoutMs);
      if (!killer.killPending() && options.signal?.aborted) onAbort();
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
