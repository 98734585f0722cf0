/**
 * rollbackStack: HARD_HALT, orderly shutdown, and a return to a good release, on one host over one
 * SSH connection. Every mode starts with the HARD_HALT (hard-halt.ts), before anything else and
 * without waiting for any lock: it is what stops trading.
 *
 *  halt      the HARD_HALT only (fails when it is not acknowledged). Takes no lock, changes no file.
 *  stop      lock, then the orderly shutdown of the trading groups of the stack profile; the other
 *            groups (the operator surface) and the infrastructure keep running.
 *  restart   lock, the current release verified again on the host, its images present, the orderly
 *            shutdown (operator surface last), `up -d` from current DISARMED, verifyStack, confirm.
 *  rollback  lock, the target chosen (rollback-target.ts) and verified on the host with its images
 *            present BEFORE anything stops (`last-good` moves on past a release that is refused),
 *            the orderly shutdown, `current` switched atomically, the release left marked bad,
 *            `up -d` from current DISARMED, verifyStack, confirm.
 * The halt subject, the halt responder and the stop order come from the stack profile of the release
 * that runs (running-profile.ts), read first. A HARD_HALT that is not acknowledged (NATS down, user
 * refused, no responder, timeout, no profile to say where to send it) is a loud
 * warning, and the shutdown goes on. Right after the HARD_HALT, before any lock, every mode writes
 * the host's halt mark (packages/host halt-mark): from then on nothing automatic (a waiting guard,
 * a deploy in flight, a recovery) starts a trading service or arms the stack. `restart` and
 * `rollback` lift it as they start the stack (unless a newer halt came meanwhile); `halt` and `stop`
 * leave it. The lock is the deploy's (packages/host acquireDeployLock, with its heartbeat): a
 * rollback never interleaves with a deploy. The switch, the compose command, the host verification,
 * the image pull, the confirmation and the journal are packages/host's, as a deploy uses them.
 * One journal line per run that reached the host. A failure after the shutdown leaves the trading
 * services stopped (the fail-safe state after a HARD_HALT), and says so. A cancelled run (signal)
 * stops at its next safe point, brings the operator surface and the infrastructure back up
 * (DISARMED, the trading services stay stopped under the halt) and writes its journal line.
 * Each phase has its module (rollback-halt.ts, rollback-lock.ts, rollback-choice.ts,
 * rollback-return.ts); they share
 * one RollbackRun (rollback-run.ts), whose journal line is written and lock released at its end
 * (rollback-ending.ts for a failed or cancelled run).
 */
import type { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import type { PhaseRecord } from '@titan/phases/phase-clock';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { HaltOutcome } from './hard-halt.js';
import type { NatsAddress } from './nats-address.js';
import type { StoppedGroup } from './orderly-stop.js';
import { checkCurrent, chooseTarget } from './rollback-choice.js';
import { endAfterError } from './rollback-ending.js';
import { haltOnly, sendHaltAndMark } from './rollback-halt.js';
import { lockAndInspect, stopTrading } from './rollback-lock.js';
import { returnTo } from './rollback-return.js';
import { RollbackRun } from './rollback-run.js';
import type { RollbackTo } from './rollback-target.js';

export type RollbackMode = 'halt' | 'stop' | 'restart' | 'rollback';
export const ROLLBACK_MODES: readonly RollbackMode[] = ['halt', 'stop', 'restart', 'rollback'];

export type RollbackResult = 'halted' | 'stopped' | 'restarted' | 'rolled-back' | 'failed' | 'cancelled';

export interface HaltSettings {
  /** NATS as the host sees it. */
  readonly address: NatsAddress;
  readonly user: string;
  readonly password: string;
  /** Overrides the stack profile's halt subject (needed on a host whose current release has no profile). */
  readonly subject?: string | undefined;
  /** Overrides the stack profile's halt responder. */
  readonly responder?: string | undefined;
  readonly hmacSecret: string;
  readonly timeoutSeconds: number;
}

export interface RollbackRequest {
  readonly layout: HostLayout;
  readonly project: string;
  readonly mode: RollbackMode;
  /** Where `rollback` returns to (ignored by the other modes). */
  readonly to: RollbackTo;
  /** Why, as the operator wrote it: in the HARD_HALT, the bad mark and the journal. */
  readonly reason: string;
  readonly actor: string;
  readonly runUrl: string;
  readonly halt: HaltSettings;
  readonly lockTimeoutSeconds: number;
  /** Seconds without a heartbeat after which the host ends this run and frees the lock (default 60). */
  readonly heartbeatTimeoutSeconds?: number;
  readonly healthTimeoutSeconds: number;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM): the run stops at its next safe point. */
  readonly signal?: AbortSignal;
  /** Seconds each container gets to stop; undefined: its own stop_grace_period. */
  readonly stopTimeoutSeconds: number | undefined;
  readonly logger: Logger;
  /** Pause between verification polls (default verifyStack's). */
  readonly verifyPollMs?: number;
}

export interface RefusedRelease {
  readonly release: string;
  readonly stage: 'verify' | 'secrets' | 'images';
  readonly reason: string;
}

export interface RollbackOutcome {
  readonly mode: RollbackMode;
  readonly result: RollbackResult;
  /** What `current` pointed at when the rollback looked (undefined: nothing, or the host was not read). */
  readonly releaseBefore: string | undefined;
  /** What `current` points at afterwards. */
  readonly releaseAfter: string | undefined;
  /** The release a `rollback` returned to. */
  readonly target: string | undefined;
  readonly halt: HaltOutcome;
  readonly lockWaitedMs: number | undefined;
  /** Candidates refused on the host (tampered, images unavailable), in the order tried. */
  readonly refused: readonly RefusedRelease[];
  readonly stopped: readonly StoppedGroup[];
  /** Titan services a `stop` left running on purpose. */
  readonly leftRunning: readonly string[];
  /** The release a `rollback` left, now marked bad. */
  readonly markedBad: string | undefined;
  readonly verification: VerifyReport | undefined;
  readonly warnings: readonly string[];
  /** What the host is left in, in a sentence, when the run did not complete (cancelled, failed). */
  readonly hostStatus: string | undefined;
  readonly phases: readonly PhaseRecord[];
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

export async function rollbackStack(connection: SshConnection, request: RollbackRequest): Promise<RollbackOutcome> {
  const { mode, signal } = request;
  const run = new RollbackRun(connection, request);
  signal?.addEventListener('abort', run.cancel, { once: true });

  // HARD_HALT, before anything else but reading where it goes (the running release's stack profile), then the halt mark.
  const halt = await sendHaltAndMark(run);
  try {
    run.checkpoint();
    if (mode === 'halt') {
      await haltOnly(run, halt);
      return await run.finish();
    }
    const { state, journal } = await lockAndInspect(run);
    run.checkpoint();
    if (mode === 'stop') {
      await stopTrading(run);
      return await run.finish();
    }
    const checked = mode === 'restart' ? await checkCurrent(run, state) : await chooseTarget(run, state, journal);
    await returnTo(run, state, checked);
    return await run.finish();
  } catch (error: unknown) {
    await endAfterError(run, error);
    return await run.finish();
  } finally {
    signal?.removeEventListener('abort', run.cancel);
  }
}
