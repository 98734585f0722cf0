/**
 * What a remote command is asked (options), what it returns, and what the connection gives it
 * while it runs (CommandSession): the contract between connection.ts and remote-command.ts.
 */
import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '@titan/log/logger';
import type { ConnectionLostError } from './errors.js';

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
