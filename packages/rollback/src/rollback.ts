/**
 * rollbackStack: HARD_HALT, orderly shutdown, and a return to a good release, on one host over one
 * SSH connection. Every mode starts with the HARD_HALT (hard-halt.ts), before anything else and
 * without waiting for any lock: it is what stops trading.
 *
 *  halt      the HARD_HALT only (fails when it is not acknowledged). Takes no lock, changes no file.
 *  stop      lock, then the orderly shutdown of the strategies, titan-execution and titan-brain;
 *            the operator surface (console, console-api, opsd) and the infrastructure keep running.
 *  restart   lock, the current release verified again on the host, its images present, the orderly
 *            shutdown (operator surface last), `up -d` from current DISARMED, verifyStack, confirm.
 *  rollback  lock, the target chosen (rollback-target.ts) and verified on the host with its images
 *            present BEFORE anything stops (`last-good` moves on past a release that is refused),
 *            the orderly shutdown, `current` switched atomically, the release left marked bad,
 *            `up -d` from current DISARMED, verifyStack, confirm.
 * A HARD_HALT that is not acknowledged (NATS down, user refused, no titan-brain, timeout) is a loud
 * warning, and the shutdown goes on. The lock is the deploy's (packages/host acquireDeployLock): a
 * rollback never interleaves with a deploy. The switch, the compose command, the host verification,
 * the image pull, the confirmation and the journal are packages/host's, as a deploy uses them.
 * One journal line per run that reached the host. A failure after the shutdown leaves the Titan
 * services stopped (the fail-safe state after a HARD_HALT), and says so.
 */
import type { Logger } from '@titan/log/logger';
import { requireHealthyStack, StackUnhealthyError } from '@titan/verify/healthy-stack';
import { PhaseClock, type PhaseRecord } from '@titan/deploy/phase-clock';
import { currentTarget, type TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { confirmRelease, stopGuard } from '@titan/host/guard';
import type { HostLayout } from '@titan/host/host-layout';
import { type HostState, readHostState } from '@titan/host/host-state';
import { appendJournal } from '@titan/host/journal';
import { markReleaseBad } from '@titan/host/release-marks';
import { upStack } from '@titan/host/stack-control';
import { switchCurrent } from '@titan/host/switch-current';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import { createHardHalt } from './halt-command.js';
import { type HaltOutcome, sendHardHalt } from './hard-halt.js';
import type { NatsAddress } from './nats-address.js';
import { OPERATOR_SURFACE, type StoppedGroup, OrderlyStopError, shutdownGroups, stopInOrder } from './orderly-stop.js';
import { type CheckedRelease, ReleaseRefusedError, checkRelease } from './release-check.js';
import { readJournal } from './rollback-journal.js';
import { type RollbackTo, RollbackTargetError, availableReleases, describeTo, rollbackCandidates } from './rollback-target.js';

export type RollbackMode = 'halt' | 'stop' | 'restart' | 'rollback';
export const ROLLBACK_MODES: readonly RollbackMode[] = ['halt', 'stop', 'restart', 'rollback'];

export type RollbackResult = 'halted' | 'stopped' | 'restarted' | 'rolled-back' | 'failed';

/** A stack started by a rollback or a restart always runs DISARMED (re-arm with an explicit deploy). */
export const ROLLBACK_TITAN_MODE: TitanMode = 'DISARMED';

export interface HaltSettings {
  /** NATS as the host sees it. */
  readonly address: NatsAddress;
  readonly user: string;
  readonly password: string;
  readonly subject: string;
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
  readonly healthTimeoutSeconds: number;
  /** Seconds each container gets to stop; undefined: its own stop_grace_period. */
  readonly stopTimeoutSeconds: number | undefined;
  readonly logger: Logger;
  /** Pause between verification polls (default verifyStack's). */
  readonly verifyPollMs?: number;
}

export interface RefusedRelease {
  readonly release: string;
  readonly stage: 'verify' | 'images';
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
  readonly phases: readonly PhaseRecord[];
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** The HARD_HALT was not acknowledged in mode `halt`, where it is the whole job. */
export class HaltNotAcknowledgedError extends Error {
  override readonly name = 'HaltNotAcknowledgedError';
}

export async function rollbackStack(connection: SshConnection, request: RollbackRequest): Promise<RollbackOutcome> {
  const { layout, project, mode, logger } = request;
  const startedAt = new Date();
  const clock = new PhaseClock(logger);
  const warnings: string[] = [];
  const refused: RefusedRelease[] = [];
  let stopped: StoppedGroup[] = [];
  let state: HostState | undefined;
  let lock: HeldDeployLock | undefined;
  let releaseBefore: string | undefined;
  let releaseAfter: string | undefined;
  let target: string | undefined;
  let markedBad: string | undefined;
  let verification: VerifyReport | undefined;
  let result: RollbackResult = 'failed';
  let failure: Error | undefined;
  /** The stack was started (DISARMED) by this run. */
  let started = false;
  const warn = (message: string): void => {
    warnings.push(message);
    logger.warning(message);
  };

  // 1. HARD_HALT, before anything else.
  const command = createHardHalt({ reason: request.reason, actor: request.actor, runUrl: request.runUrl });
  const halt = await clock.run('halt', () =>
    sendHardHalt(connection, {
      address: request.halt.address,
      user: request.halt.user,
      password: request.halt.password,
      subject: request.halt.subject,
      hmacSecret: request.halt.hmacSecret,
      command,
      timeoutMs: request.halt.timeoutSeconds * 1000,
      logger,
    }),
  );
  if (halt.acknowledged) {
    logger.info(`HARD_HALT acknowledged by ${halt.acknowledgement?.service ?? 'unknown'} in ${(halt.durationMs / 1000).toFixed(2)} s (nonce ${halt.nonce}).`);
  } else {
    warn(`HARD_HALT was NOT acknowledged: ${halt.problem ?? 'no reason known'}.${mode === 'halt' ? '' : ' The shutdown goes on without it.'}`);
  }

  try {
    if (mode === 'halt') {
      // Only for the release-id output and the journal: a host that cannot be read does not undo a halt.
      state = await clock.run('inspect', () => readHostState(connection, layout)).catch((error: unknown) => {
        warn(`Could not read ${layout.appDir} on ${connection.host}: ${error instanceof Error ? firstLine(error.message) : String(error)}`);
        return undefined;
      });
      releaseBefore = state?.current;
      releaseAfter = state?.current;
      if (!halt.acknowledged) {
        throw new HaltNotAcknowledgedError(
          `The HARD_HALT was not acknowledged: ${halt.problem ?? 'no reason known'}. Trading may still be running: ` +
            'run this action with mode: stop to stop the trading services.',
        );
      }
      result = 'halted';
      return finish();
    }

    logger.info(`Taking the deploy lock ${layout.lockFile} (waiting up to ${request.lockTimeoutSeconds} s for a deploy that holds it).`);
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: mode === 'rollback' ? `rollback to ${describeTo(request.to)}` : mode, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        logger,
      }),
    );
    const heldLock = lock;
    let journal: Record<string, unknown>[] = [];
    state = await clock.run('inspect', async () => {
      const found = await readHostState(connection, layout);
      if (mode === 'rollback') journal = await readJournal(connection, layout);
      return found;
    });
    const hostState = state;
    releaseBefore = hostState.current;
    releaseAfter = hostState.current;

    if (mode === 'stop') {
      stopped = await clock.run('stop', () => stopInOrder(connection, { project, groups: shutdownGroups('trading'), stopTimeoutSeconds: request.stopTimeoutSeconds, logger }));
      logger.info(`Left running: ${OPERATOR_SURFACE.join(', ')} and the infrastructure.`);
      result = 'stopped';
      return finish();
    }

    let checked: CheckedRelease;
    if (mode === 'restart') {
      const current = hostState.current;
      if (current === undefined) {
        throw new RollbackTargetError(`No release is current on ${connection.host}: there is nothing to restart. Available releases: ${availableReleases(hostState)}.`);
      }
      checked = await clock.run('check', async () => {
        try {
          return await checkRelease(connection, layout, current, logger);
        } catch (error: unknown) {
          if (error instanceof ReleaseRefusedError) {
            refused.push({ release: current, stage: error.stage, reason: error.reason });
            throw new Error(`${error.message} Nothing was stopped: the current release must not start again. Roll back to a good release (mode: rollback).`, { cause: error });
          }
          throw error;
        }
      });
    } else {
      const choice = rollbackCandidates(hostState, journal, request.to);
      for (const warning of choice.warnings) warn(warning);
      logger.info(`Rollback to ${describeTo(request.to)}: ${choice.candidates.length === 1 ? 'release' : 'candidates, in order:'} ${choice.candidates.join(', ')}.`);
      checked = await clock.run('target', async () => {
        for (const candidate of choice.candidates) {
          heldLock.assertHeld();
          try {
            return await checkRelease(connection, layout, candidate, logger);
          } catch (error: unknown) {
            if (!(error instanceof ReleaseRefusedError)) throw error;
            refused.push({ release: candidate, stage: error.stage, reason: error.reason });
            if (request.to.kind !== 'last-good') throw new Error(`${error.message} Nothing was stopped or switched.`, { cause: error });
            warn(`Skipping release ${candidate}: ${error.reason}.`);
          }
        }
        throw new RollbackTargetError(
          `No good release is usable: ${refused.map((r) => `${r.release} (${r.reason})`).join('; ')}. Nothing was stopped or switched. ` +
            `Available releases: ${availableReleases(hostState)}.`,
        );
      });
      target = checked.releaseId;
    }

    stopped = await clock.run('stop', () => {
      heldLock.assertHeld();
      return stopInOrder(connection, { project, groups: shutdownGroups('all'), stopTimeoutSeconds: request.stopTimeoutSeconds, logger });
    });

    if (mode === 'rollback' && target !== undefined) {
      const to = target;
      await clock.run('switch', async () => {
        heldLock.assertHeld();
        await switchCurrent(connection, layout, to);
        releaseAfter = to;
        logger.info(`current -> releases/${to}`);
        const left = hostState.current;
        if (left !== undefined && left !== to) {
          await markReleaseBad(connection, layout, left, `rolled back by ${request.actor}: ${request.reason}`);
          markedBad = left;
          logger.info(`Release ${left} is marked bad: last-good will not return to it (a deploy of it that verifies clears the mark).`);
          if (hostState.guards.some((g) => g.release === left)) await stopGuard(connection, layout, left);
        }
      });
    }

    const manifest = checked.manifest;
    await clock.run('start', async () => {
      heldLock.assertHeld();
      started = true;
      await upStack(connection, currentTarget(layout, project, manifest.compose, ROLLBACK_TITAN_MODE), logger);
    });
    verification = await clock.run('verify', async () => {
      return requireHealthyStack(connection, {
        appDir: layout.appDir,
        project,
        manifest,
        timeoutMs: request.healthTimeoutSeconds * 1000,
        logger,
        ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
      });
    });
    await clock.run('confirm', async () => {
      heldLock.assertHeld();
      const confirmation = { release: manifest.releaseId, at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, action: 'rollback', mode: ROLLBACK_TITAN_MODE };
      await confirmRelease(connection, layout, manifest.releaseId, confirmation, ROLLBACK_TITAN_MODE);
    });
    result = mode === 'rollback' ? 'rolled-back' : 'restarted';
    logger.info(`Release ${manifest.releaseId} runs ${ROLLBACK_TITAN_MODE} and verifies (${mode === 'rollback' ? `rolled back from ${releaseBefore ?? 'no release'}` : 'restarted'}).`);
    return finish();
  } catch (error: unknown) {
    // Not logged here: the outcome carries it, and the caller reports it once (the action fails the step with it).
    failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof StackUnhealthyError) verification = failure.report;
    if (failure instanceof OrderlyStopError) stopped = [...failure.stopped];
    if (stopped.length > 0 && !started && !(failure instanceof OrderlyStopError)) {
      failure = new Error(
        `${failure.message} The Titan services stopped by this run stay stopped and current points at ${releaseAfter ?? 'no release'}: ` +
          'run mode restart or rollback once the cause is fixed.',
        { cause: failure },
      );
    }
    return finish();
  }

  async function finish(): Promise<RollbackOutcome> {
    if (!connection.closed) {
      await appendJournal(connection, layout, {
        time: new Date().toISOString(),
        action: 'rollback',
        rollbackMode: mode,
        result,
        release: releaseAfter ?? null,
        previous: releaseBefore ?? null,
        mode: started ? ROLLBACK_TITAN_MODE : (state?.mode ?? null),
        to: mode === 'rollback' ? describeTo(request.to) : null,
        actor: request.actor,
        runUrl: request.runUrl,
        reason: request.reason,
        halt: { subject: halt.subject, nonce: halt.nonce, acknowledged: halt.acknowledged },
        refused: refused.map((r) => ({ release: r.release, reason: r.reason })),
        stopped: stopped.flatMap((g) => g.services),
        phases: clock.durations(),
        ...(failure !== undefined ? { error: firstLine(failure.message) } : {}),
      }).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${e instanceof Error ? e.message : String(e)}`));
    }
    await lock?.release();
    return {
      mode,
      result,
      releaseBefore,
      releaseAfter,
      target,
      halt,
      lockWaitedMs: lock?.waitedMs,
      refused,
      stopped,
      leftRunning: mode === 'stop' && result === 'stopped' ? OPERATOR_SURFACE : [],
      markedBad,
      verification,
      warnings,
      phases: clock.records,
      error: failure,
      startedAt: startedAt.toISOString(),
      durationMs: clock.elapsedMs(),
    };
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
