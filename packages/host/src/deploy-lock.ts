/**
 * The deploy lock: held exactly as long as the SSH session that took it.
 *
 * One long-running command, `flock -E 75 -w <timeout> <app>/.deploy.lock sh -c <holder> ...`, whose
 * holder writes `.deploy.lock.holder` (who holds it: run URL, release, actor, since, pid), says so on
 * stdout, and then blocks reading its standard input. The runner never closes that input until it
 * releases the lock. When the session ends for any reason (the job finished, was cancelled, or the
 * runner was SIGKILLed and its TCP connection died), sshd closes the channel, the holder reads
 * end-of-file, removes the holder file and exits, and the kernel drops the flock with the last
 * descriptor. Nothing is ever left to clean up by hand.
 *
 * A second deploy waits up to its timeout inside flock, then fails naming the holder.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import { CommandFailedError } from '@titan/ssh/errors';
import type { HostLayout } from './host-layout.js';

/** Exit status flock gives when the lock stayed busy for the whole wait. */
const LOCK_BUSY_EXIT = 75;
const ACQUIRED_MARKER = 'titan-deploy-lock-acquired';

export const LOCK_HOLDER_SCRIPT_NAME = 'titan-deploy-lock';

// $1 holder file, $2 holder JSON object from the runner (run URL, release, actor). The host adds its
// pid and the time it took the lock. Runs under flock: the lock is ours while this shell lives.
export const LOCK_HOLDER_SCRIPT = `set -eu
holder_file=$1
info=$2
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
tmp="$holder_file.tmp.$$"
umask 022
printf '{"pid":%s,"since":"%s",%s\\n' "$$" "$since" "\${info#?}" > "$tmp"
mv -f "$tmp" "$holder_file"
echo ${ACQUIRED_MARKER}
# Hold the lock until standard input ends: the runner released it, or the session is gone.
cat > /dev/null || true
rm -f "$holder_file"
`;

/** Who holds (or asks for) the lock. Never a secret: this is written to a world-readable file. */
export interface LockHolderInfo {
  runUrl: string;
  release: string;
  actor: string;
}

/** What the holder file says, as far as it could be read. */
export interface LockHolderRecord extends Partial<LockHolderInfo> {
  pid?: number;
  since?: string;
}

export class DeployLockBusyError extends Error {
  override readonly name = 'DeployLockBusyError';
  readonly holder: LockHolderRecord | undefined;

  constructor(host: string, waitedSeconds: number, holder: LockHolderRecord | undefined) {
    const who =
      holder === undefined
        ? 'a deploy whose holder file could not be read'
        : `${holder.runUrl !== undefined && holder.runUrl !== '' ? holder.runUrl : 'a run without a URL'} ` +
          `(release ${holder.release ?? 'unknown'}, actor ${holder.actor ?? 'unknown'}, since ${holder.since ?? 'unknown'}, host pid ${holder.pid ?? 'unknown'})`;
    super(
      `The deploy lock on ${host} is held by ${who}; waited ${waitedSeconds} s (lock-timeout). ` +
        'Let that deploy finish and run this one again, or raise lock-timeout. The lock dies with the session that holds it, so a cancelled or killed deploy never strands it.',
    );
    this.holder = holder;
  }
}

export class DeployLockLostError extends Error {
  override readonly name = 'DeployLockLostError';
}

export interface HeldDeployLock {
  /** When the lock was taken (runner clock). */
  readonly acquiredAt: Date;
  /** How long the wait for it took. */
  readonly waitedMs: number;
  /** False once the holder ended while the lock was supposed to be held. */
  readonly held: boolean;
  /** Throws DeployLockLostError if the lock is no longer held. */
  assertHeld(): void;
  /** Ends the holder's input: it exits and the lock is free. Safe to call twice. */
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  layout: HostLayout;
  holder: LockHolderInfo;
  timeoutSeconds: number;
  logger: Logger;
}

/** Takes the deploy lock, waiting up to `timeoutSeconds` for another deploy to finish. */
export async function acquireDeployLock(connection: SshConnection, options: AcquireLockOptions): Promise<HeldDeployLock> {
  const { layout, holder, timeoutSeconds, logger } = options;
  const started = performance.now();
  const stdin = new PassThrough();
  let markAcquired: () => void = () => undefined;
  const acquired = new Promise<void>((resolve) => {
    markAcquired = resolve;
  });
  const running = connection.run(
    [
      'flock', '-E', String(LOCK_BUSY_EXIT), '-w', String(timeoutSeconds), layout.lockFile,
      'sh', '-c', LOCK_HOLDER_SCRIPT, LOCK_HOLDER_SCRIPT_NAME, layout.lockHolderFile, JSON.stringify(holder),
    ],
    {
      stdin,
      timeoutMs: 0,
      captureStdout: false,
      logOutput: 'none',
      onStdoutLine: (line) => {
        if (line === ACQUIRED_MARKER) markAcquired();
      },
    },
  );
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
  if (ended) {
    stdin.end();
    if (endError instanceof CommandFailedError && endError.exitCode === LOCK_BUSY_EXIT) {
      throw new DeployLockBusyError(connection.host, timeoutSeconds, await readLockHolder(connection, layout));
    }
    if (endError instanceof CommandFailedError) {
      throw new Error(
        `Could not take the deploy lock ${layout.lockFile} on ${connection.host}: flock exited with status ${endError.exitCode}. ` +
          `Check that ${layout.appDir} exists and is writable by ${connection.username} (action-provision lays it out).\n${endError.stderrTail}`,
        { cause: endError },
      );
    }
    throw endError instanceof Error ? endError : new Error(`The deploy lock holder ended before taking the lock on ${connection.host}.`);
  }

  const waitedMs = Math.round(performance.now() - started);
  logger.info(`Took the deploy lock ${layout.lockFile} after ${(waitedMs / 1000).toFixed(1)} s.`);
  let released = false;
  return {
    acquiredAt: new Date(),
    waitedMs,
    get held() {
      return !ended;
    },
    assertHeld() {
      if (ended && !released) {
        throw new DeployLockLostError(
          `The deploy lock on ${connection.host} was lost in the middle of the deploy (${endError instanceof Error ? endError.message : 'its holder ended'}). ` +
            'Stopping here: another deploy may now run. Check the host before retrying.',
        );
      }
    },
    async release() {
      if (released) return;
      released = true;
      stdin.end();
      const timer = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([finished, timer]);
      if (!ended) logger.warning(`The deploy lock holder on ${connection.host} did not exit within 10 s of being released; it goes with the connection.`);
      else logger.debug('released the deploy lock');
    },
  };
}

/** Reads the holder file (who holds the lock now); undefined when there is none or it is unreadable. */
export async function readLockHolder(connection: SshConnection, layout: HostLayout): Promise<LockHolderRecord | undefined> {
  try {
    const result = await connection.run(['cat', layout.lockHolderFile], { timeoutMs: 15_000, logOutput: 'none' });
    return parseLockHolder(result.stdout);
  } catch {
    return undefined;
  }
}

export function parseLockHolder(text: string): LockHolderRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    const str = (key: string): string | undefined => (typeof record[key] === 'string' ? record[key] : undefined);
    const out: LockHolderRecord = {};
    if (typeof record['pid'] === 'number') out.pid = record['pid'];
    const since = str('since');
    if (since !== undefined) out.since = since;
    const runUrl = str('runUrl');
    if (runUrl !== undefined) out.runUrl = runUrl;
    const release = str('release');
    if (release !== undefined) out.release = release;
    const actor = str('actor');
    if (actor !== undefined) out.actor = actor;
    return out;
  } catch {
    return undefined;
  }
}
