/**
 * The deploy lock: held as long as the deploy is ALIVE, not as long as a TCP session.
 *
 * One long-running command of the deploy's SSH connection holds the host's flock and watches the
 * deploy (scripts/deploy-lock.sh): the runner sends it a heartbeat every few seconds on its standard
 * input. When heartbeats stop for heartbeat-timeout seconds (a frozen runner, a hung VM, a network
 * cut without a FIN) or the session ends without a release (a killed runner), the host ends
 * everything the deploy started (its other commands, its in-container work), ends the SSH connection
 * and frees the lock; the guard the deploy started, if any, then returns the host to a good release.
 *
 * A second deploy waits up to its lock timeout, then fails naming the holder. A holder whose own
 * watchdog stopped heartbeating and still holds the lock is ended by whoever waits for it.
 * `abortWork()` (a cancelled run) ends the deploy's in-flight work on the host while keeping the lock.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import { EXIT_LOCK_BUSY } from '@titan/ssh/exit-status';
import type { HostLayout } from './host-layout.js';
import { parseRecord } from './host-record.js';
import { DeployLockBusyError, DeployLockLostError, type LockHolderInfo, readLockHolder } from './lock-holder.js';
import { runHostScript } from './host-script.js';

/** heartbeat-timeout when none is given: well under the default confirm-timeout (300 s). */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 60;

export interface HeldDeployLock {
  /** When the lock was taken (runner clock). */
  readonly acquiredAt: Date;
  /** How long the wait for it took. */
  readonly waitedMs: number;
  /** Names this session's work on the host (database application names, work records). Not a secret. */
  readonly token: string;
  /** False once the holder ended while the lock was supposed to be held. */
  readonly held: boolean;
  /** Why the host ended the lock (its watchdog's words), once it did. */
  readonly lostReason: string | undefined;
  /** Throws DeployLockLostError if the lock is no longer held. */
  assertHeld(): void;
  /** The error to report when the lock was lost. */
  lostError(): DeployLockLostError;
  /**
   * Ends, on the host, this connection's other running commands and the in-container work this
   * session registered (a cancelled run); the lock stays held. Resolves once the host says it is
   * done (or after 10 s). Safe to call more than once.
   */
  abortWork(): Promise<void>;
  /** Releases the lock: the holder exits and the lock is free. Safe to call twice. */
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  layout: HostLayout;
  holder: LockHolderInfo;
  timeoutSeconds: number;
  /** Seconds without a heartbeat after which the host ends the deploy and frees the lock (default 60). */
  heartbeatTimeoutSeconds?: number;
  /** Aborting while waiting for the lock stops waiting (the lock is not taken). */
  signal?: AbortSignal;
  logger: Logger;
}

/** Takes the deploy lock, waiting up to `timeoutSeconds` for another deploy to finish. */
export async function acquireDeployLock(connection: SshConnection, options: AcquireLockOptions): Promise<HeldDeployLock> {
  const { layout, holder, timeoutSeconds, logger } = options;
  const heartbeatTimeout = options.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS;
  const token = randomBytes(12).toString('hex');
  const started = performance.now();
  const stdin = new PassThrough();
  let markAcquired: () => void = () => undefined;
  const acquired = new Promise<void>((resolve) => {
    markAcquired = resolve;
  });
  let markAborted: () => void = () => undefined;
  let lostReason: string | undefined;
  const waiting = new AbortController();
  const onCancel = (): void => waiting.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onCancel, { once: true });
  const running = runHostScript(connection, layout, 'titan-deploy-lock', [JSON.stringify(holder), String(timeoutSeconds), String(heartbeatTimeout), token], {
    stdin,
    timeoutMs: 0,
    signal: waiting.signal,
    captureStdout: false,
    logOutput: 'none',
    onStdoutLine: (line) => {
      const record = parseRecord(line);
      if (record?.kind === 'lock-acquired') markAcquired();
      else if (record?.kind === 'lock-aborted') markAborted();
      else if (record?.kind === 'lock-lost') lostReason = record.values[0] ?? 'the host ended the lock';
    },
    // The host says why a lock it waited for became free (a holder silent for too long, ended).
    onStderrLine: (line) => {
      const record = parseRecord(line);
      if (record?.kind !== 'stale-holder-ended') return;
      const [group, age, beat] = record.values;
      logger.warning(
        `${connection.host}: the deploy lock's holder (process group ${group}) sent no heartbeat for ${age} s, more than twice its heartbeat-timeout of ${beat} s: ending it.`,
      );
    },
  });
  let ended = false;
  let endError: unknown;
  const finished = running.then(
    () => {
      ended = true;
    },
    (error: unknown) => {
      ended = true;
      endError = error;
    },
  );

  await Promise.race([acquired, finished]);
  options.signal?.removeEventListener('abort', onCancel);
  if (ended) {
    stdin.end();
    if (endError instanceof CommandFailedError && endError.exitCode === EXIT_LOCK_BUSY) {
      throw new DeployLockBusyError(connection.host, timeoutSeconds, await readLockHolder(connection, layout));
    }
    if (options.signal?.aborted === true) {
      const reason: unknown = options.signal.reason;
      throw reason instanceof Error ? reason : new Error(`Cancelled while waiting for the deploy lock on ${connection.host}; nothing was changed.`);
    }
    if (endError instanceof CommandFailedError) {
      throw new Error(
        `Could not take the deploy lock ${layout.lockFile} on ${connection.host}: the lock holder exited with status ${endError.exitCode}. ` +
          `Check that ${layout.appDir} exists and is writable by ${connection.username} (action-provision lays it out).\n${endError.stderrTail}`,
        { cause: endError },
      );
    }
    throw endError instanceof Error ? endError : new Error(`The deploy lock holder ended before taking the lock on ${connection.host}.`);
  }

  const waitedMs = Math.round(performance.now() - started);
  logger.info(`Took the deploy lock ${layout.lockFile} after ${(waitedMs / 1000).toFixed(1)} s (heartbeat-timeout ${heartbeatTimeout} s).`);
  let released = false;
  const intervalMs = Math.max(500, Math.min(10_000, (heartbeatTimeout * 1000) / 4));
  // A runner that finds it could not send a heartbeat for longer than heartbeat-timeout (it was
  // frozen: a stopped process, a suspended VM) knows the host has ended its deploy: it holds the
  // lock no more, whatever it hears next, and must change nothing. Whichever it learns first (its
  // own timer, or the connection the host cut), the silence is measured up to that moment.
  let lastBeat = performance.now();
  let silence: string | undefined;
  const noteSilence = (): void => {
    const gapMs = performance.now() - lastBeat;
    if (silence === undefined && gapMs > heartbeatTimeout * 1000) {
      silence = `this runner sent no heartbeat for ${Math.round(gapMs / 1000)} s (heartbeat-timeout ${heartbeatTimeout} s: the process or its machine was frozen), so the host has ended its deploy`;
    }
  };
  const heartbeat = setInterval(() => {
    noteSilence();
    if (ended || silence !== undefined) {
      clearInterval(heartbeat);
      return;
    }
    lastBeat = performance.now();
    stdin.write('beat\n');
  }, intervalMs);
  heartbeat.unref();
  void finished.then(() => {
    if (!released) noteSilence();
    clearInterval(heartbeat);
  });
  let aborting: Promise<void> | undefined;

  const lostError = (): DeployLockLostError => {
    if (ended && !released) noteSilence();
    return new DeployLockLostError(
      `This run lost the deploy lock on ${connection.host}: ${lostReason ?? silence ?? (endError instanceof Error ? endError.message : 'its holder on the host ended')}. ` +
        'The host ended this session and everything it had started there; the guard this deploy started (if any) returns the host to a good release by itself. ' +
        `This run changed nothing more. Check the host (${layout.journal}) before deploying again.`,
    );
  };
  return {
    acquiredAt: new Date(),
    waitedMs,
    token,
    get held() {
      return !ended && silence === undefined;
    },
    get lostReason() {
      return lostReason;
    },
    lostError,
    assertHeld() {
      if ((ended || silence !== undefined) && !released) throw lostError();
    },
    abortWork() {
      aborting ??= (async () => {
        if (ended || released || silence !== undefined) return;
        const done = new Promise<void>((resolve) => {
          markAborted = resolve;
        });
        stdin.write('abort\n');
        await Promise.race([done, finished, new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())]);
      })();
      return aborting;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if (!ended && silence === undefined) stdin.write('release\n');
      stdin.end();
      const timer = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([finished, timer]);
      if (!ended) logger.warning(`The deploy lock holder on ${connection.host} did not exit within 10 s of being released; it goes with the connection.`);
      else logger.debug('released the deploy lock');
    },
  };
}
