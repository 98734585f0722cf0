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
 */
import type { Logger } from '@titan/log/logger';
import { requireHealthyStack, StackUnhealthyError } from '@titan/verify/healthy-stack';
import { CancelledError, cancellationCause, throwIfCancelled } from '@titan/phases/cancellation';
import { PhaseClock, type PhaseRecord } from '@titan/phases/phase-clock';
import { currentTarget, type TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock, type HeldDeployLock } from '@titan/host/deploy-lock';
import { confirmRelease, stopGuard } from '@titan/host/guard';
import { describeHalt, HostHaltedError, liftHaltMark, writeHaltMark } from '@titan/host/halt-mark';
import type { HostLayout } from '@titan/host/host-layout';
import { type HostState, readHostState } from '@titan/host/host-state';
import { appendJournal } from '@titan/host/journal';
import { readInstalledRelease } from '@titan/host/release-files';
import { markReleaseBad } from '@titan/host/release-marks';
import { upStack, upStackExcept } from '@titan/host/stack-control';
import { switchCurrent } from '@titan/host/switch-current';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import { stackProfileOf } from '@titan/release/manifest';
import { operatorServices, type StackProfile, tradingServices } from '@titan/release/stack-profile';
import { createHardHalt } from './halt-command.js';
import { type HaltOutcome, sendHardHalt } from './hard-halt.js';
import type { NatsAddress } from './nats-address.js';
import { type StoppedGroup, OrderlyStopError, shutdownGroups, stopInOrder } from './orderly-stop.js';
import { readRunningProfile } from './running-profile.js';
import { type CheckedRelease, ReleaseRefusedError, checkRelease } from './release-check.js';
import { readJournal } from './rollback-journal.js';
import { type RollbackTo, RollbackTargetError, availableReleases, describeTo, rollbackCandidates } from './rollback-target.js';

export type RollbackMode = 'halt' | 'stop' | 'restart' | 'rollback';
export const ROLLBACK_MODES: readonly RollbackMode[] = ['halt', 'stop', 'restart', 'rollback'];

export type RollbackResult = 'halted' | 'stopped' | 'restarted' | 'rolled-back' | 'failed' | 'cancelled';

/** A stack started by a rollback or a restart always runs DISARMED (re-arm with an explicit deploy). */
export const ROLLBACK_TITAN_MODE: TitanMode = 'DISARMED';

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

/** The HARD_HALT was not acknowledged in mode `halt`, where it is the whole job. */
export class HaltNotAcknowledgedError extends Error {
  override readonly name = 'HaltNotAcknowledgedError';
}

export async function rollbackStack(connection: SshConnection, request: RollbackRequest): Promise<RollbackOutcome> {
  const { layout, project, mode, logger, signal } = request;
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
  let hostStatus: string | undefined;
  let journalWritten = false;
  let ending = false;
  /** The stack was started (DISARMED) by this run. */
  let started = false;
  const warn = (message: string): void => {
    warnings.push(message);
    logger.warning(message);
  };
  const cancel = (): void => {
    logger.warning(`Cancellation (${cancellationCause(signal)}) received during ${clock.latest ?? 'the start'}: stopping at the next safe point.`);
    if (!ending) void lock?.abortWork();
  };
  signal?.addEventListener('abort', cancel, { once: true });
  const checkpoint = (): void => throwIfCancelled(signal, clock.latest);

  // 1. HARD_HALT, before anything else but reading where it goes (the running release's stack profile).
  const running = await readRunningProfile(connection, layout);
  if (running.profile === undefined) warn(`No stack profile: ${running.problem}.`);
  const profile: StackProfile | undefined = running.profile;
  /** The profile that says how the stack stops: the running release's, else (restart, rollback) the checked target's. */
  const stopProfile = (fallback?: StackProfile): StackProfile => {
    const found = profile ?? fallback;
    if (found === undefined) throw new Error(`Cannot stop the stack in order: ${running.profile === undefined ? running.problem : 'no stack profile'}.`);
    return found;
  };
  const command = createHardHalt({ reason: request.reason, actor: request.actor, runUrl: request.runUrl });
  const subject = request.halt.subject ?? profile?.halt.subject;
  const responder = request.halt.responder ?? profile?.halt.responder;
  const halt = await clock.run('halt', () =>
    subject === undefined || responder === undefined
      ? Promise.resolve(haltNotSent(command, subject ?? '', `it was not sent: ${running.profile === undefined ? running.problem : 'no halt subject or responder'} (give halt-subject and halt-responder to send it without a profile)`))
      : sendHardHalt(connection, {
          address: request.halt.address,
          user: request.halt.user,
          password: request.halt.password,
          subject,
          responder,
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
  // 2. The halt mark, without waiting for any lock: nothing automatic starts trading from now on.
  const mark = { at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, reason: request.reason, rollbackMode: mode, nonce: command.nonce };
  await writeHaltMark(connection, layout, mark).then(
    () => logger.info(`Halt mark written (${layout.stateDir}/halted): nothing automatic starts a trading service or arms the stack until an explicit restart, rollback or lift-halt deploy.`),
    (error: unknown) => warn(`Could not write the halt mark in ${layout.stateDir}: ${error instanceof Error ? firstLine(error.message) : String(error)}`),
  );

  try {
    checkpoint();
    if (mode === 'halt') {
      // Only for the release-id output and the journal: a host that cannot be read does not undo a halt.
      state = await clock.run('inspect', () => readHostState(connection, layout)).catch((error: unknown) => {
        warn(`Could not read ${layout.appDir} on ${connection.host}: ${error instanceof Error ? firstLine(error.message) : String(error)}`);
        return undefined;
      });
      releaseBefore = state?.current;
      releaseAfter = state?.current;
      if (!halt.acknowledged) {
        const running = await runningContainers(connection, project).catch(() => undefined);
        throw new HaltNotAcknowledgedError(
          running === 0
            ? `The HARD_HALT was not acknowledged: ${halt.problem ?? 'no reason known'}. The stack of project ${project} is stopped on ${connection.host} (no container of it runs), ` +
                'so nothing trades; the halt mark keeps anything automatic from starting it. Run mode restart to start it again DISARMED.'
            : `The HARD_HALT was not acknowledged: ${halt.problem ?? 'no reason known'}. Trading may still be running: ` +
                'run this action with mode: stop to stop the trading services.',
        );
      }
      result = 'halted';
      return await finish();
    }

    logger.info(`Taking the deploy lock ${layout.lockFile} (waiting up to ${request.lockTimeoutSeconds} s for a deploy that holds it).`);
    lock = await clock.run('lock', () =>
      acquireDeployLock(connection, {
        layout,
        holder: { runUrl: request.runUrl, release: mode === 'rollback' ? `rollback to ${describeTo(request.to)}` : mode, actor: request.actor },
        timeoutSeconds: request.lockTimeoutSeconds,
        ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
        ...(signal !== undefined ? { signal } : {}),
        logger,
      }),
    );
    const heldLock = lock;
    let journal: Record<string, unknown>[] = [];
    checkpoint();
    state = await clock.run('inspect', async () => {
      const found = await readHostState(connection, layout);
      if (mode === 'rollback') journal = await readJournal(connection, layout);
      return found;
    });
    const hostState = state;
    releaseBefore = hostState.current;
    releaseAfter = hostState.current;

    checkpoint();
    if (mode === 'stop') {
      const groups = shutdownGroups(stopProfile(), 'trading');
      stopped = await clock.run('stop', () => stopInOrder(connection, { project, groups, stopTimeoutSeconds: request.stopTimeoutSeconds, logger }));
      const surface = operatorServices(stopProfile());
      logger.info(`Left running: ${surface.length > 0 ? `${surface.join(', ')} and ` : ''}the infrastructure.`);
      result = 'stopped';
      return await finish();
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

    checkpoint();
    stopped = await clock.run('stop', () => {
      heldLock.assertHeld();
      return stopInOrder(connection, { project, groups: shutdownGroups(stopProfile(stackProfileOf(checked.manifest)), 'all'), stopTimeoutSeconds: request.stopTimeoutSeconds, logger });
    });

    checkpoint();
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
    checkpoint();
    await clock.run('start', async () => {
      heldLock.assertHeld();
      // This run says so: it lifts its own halt (a newer one, from another operator, stands).
      const newer = await liftHaltMark(connection, layout, command.nonce);
      if (newer !== undefined) {
        throw new HostHaltedError(`The host was halted again ${describeHalt(newer)} while this ${mode} ran: nothing is started.`, newer);
      }
      started = true;
      await upStack(connection, currentTarget(layout, project, manifest.compose, ROLLBACK_TITAN_MODE), logger);
    });
    checkpoint();
    verification = await clock.run('verify', async () => {
      return requireHealthyStack(connection, {
        appDir: layout.appDir,
        project,
        manifest,
        timeoutMs: request.healthTimeoutSeconds * 1000,
        logger,
        ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
    });
    checkpoint();
    await clock.run('confirm', async () => {
      heldLock.assertHeld();
      const confirmation = { release: manifest.releaseId, at: new Date().toISOString(), actor: request.actor, runUrl: request.runUrl, action: 'rollback', mode: ROLLBACK_TITAN_MODE };
      await confirmRelease(connection, layout, manifest.releaseId, confirmation, ROLLBACK_TITAN_MODE);
    });
    result = mode === 'rollback' ? 'rolled-back' : 'restarted';
    logger.info(`Release ${manifest.releaseId} runs ${ROLLBACK_TITAN_MODE} and verifies (${mode === 'rollback' ? `rolled back from ${releaseBefore ?? 'no release'}` : 'restarted'}).`);
    return await finish();
  } catch (error: unknown) {
    ending = true;
    // Not logged here: the outcome carries it, and the caller reports it once (the action fails the step with it).
    failure = error instanceof Error ? error : new Error(String(error));
    if (failure instanceof StackUnhealthyError) verification = failure.report;
    if (failure instanceof OrderlyStopError) stopped = [...failure.stopped];
    if (lock !== undefined && (!lock.held || connection.closed)) {
      failure = lock.lostError();
      hostStatus = 'unknown to this run: the host ended its session; the trading services it stopped stay stopped (the halt mark stands)';
    } else if (signal?.aborted === true) {
      const phase = clock.latest;
      failure = failure instanceof CancelledError ? failure : new CancelledError(`The run was cancelled (${cancellationCause(signal)}) during ${phase ?? 'the rollback'}.`, phase);
      result = 'cancelled';
      await endCancelled();
    } else if (stopped.length > 0 && !started && !(failure instanceof OrderlyStopError)) {
      failure = new Error(
        `${failure.message} The Titan services stopped by this run stay stopped and current points at ${releaseAfter ?? 'no release'}: ` +
          'run mode restart or rollback once the cause is fixed.',
        { cause: failure },
      );
    }
    return await finish();
  } finally {
    signal?.removeEventListener('abort', cancel);
  }

  /**
   * A cancelled run: the host ended the work in flight; the journal line goes first (a kill may
   * follow within seconds), then what this run stopped other than the trading services comes back
   * up, DISARMED, from whatever `current` points at. The trading services stay stopped: the halt
   * mark this run wrote stands until an explicit restart.
   */
  async function endCancelled(): Promise<void> {
    await lock?.abortWork();
    await writeJournal();
    const anyStopped = stopped.length > 0 || clock.records.some((r) => r.name === 'stop');
    if (!anyStopped || mode === 'stop') {
      hostStatus = `${mode === 'stop' && anyStopped ? 'the trading services this run stopped stay stopped' : 'nothing was stopped'}; the halt mark stands`;
      return;
    }
    try {
      const now = await readHostState(connection, layout);
      releaseAfter = now.current;
      if (now.current === undefined) {
        hostStatus = 'no release is current; the halt mark stands';
        return;
      }
      const { manifest } = await readInstalledRelease(connection, layout, now.current);
      const held = tradingServices(manifest.stack ?? stopProfile());
      await upStackExcept(connection, currentTarget(layout, project, manifest.compose, ROLLBACK_TITAN_MODE), held, logger);
      const runningNow = await runningServices(connection, project);
      const trading = held.filter((s) => runningNow.includes(s));
      hostStatus =
        `release ${now.current} is current; its operator surface and infrastructure run again DISARMED; ` +
        (trading.length === 0
          ? 'its trading services stay stopped under the halt mark'
          : `${trading.join(', ')} still run (not reached by the shutdown, under the HARD_HALT), the other trading services stay stopped under the halt mark`) +
        ': run mode restart (or stop) once the cause is known';
    } catch (error: unknown) {
      hostStatus = `the Titan services this run stopped may stay stopped (${error instanceof Error ? firstLine(error.message) : String(error)}); the halt mark stands: run mode restart`;
    }
  }

  async function writeJournal(): Promise<void> {
    if (journalWritten) return;
    journalWritten = true;
    if (connection.closed || (lock !== undefined && !lock.held)) return;
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
      ...(result === 'cancelled' && clock.latest !== undefined ? { phase: clock.latest } : {}),
      ...(failure !== undefined ? { error: firstLine(failure.message) } : {}),
    }).catch((e: unknown) => logger.warning(`Could not append to ${layout.journal}: ${e instanceof Error ? e.message : String(e)}`));
  }

  async function finish(): Promise<RollbackOutcome> {
    await writeJournal();
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
      leftRunning: mode === 'stop' && result === 'stopped' && profile !== undefined ? operatorServices(profile) : [],
      markedBad,
      verification,
      warnings,
      hostStatus,
      phases: clock.records,
      error: failure,
      startedAt: startedAt.toISOString(),
      durationMs: clock.elapsedMs(),
    };
  }
}

/** How many containers of the project run (a stopped stack: 0). */
async function runningContainers(connection: SshConnection, project: string): Promise<number> {
  return (await runningServices(connection, project)).length;
}

/** The services of the project whose containers run. */
async function runningServices(connection: SshConnection, project: string): Promise<string[]> {
  const { stdout } = await connection.run(['docker', 'ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Label "com.docker.compose.service"}}'], {
    timeoutMs: 30_000,
    logOutput: 'none',
  });
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

/** The outcome of a HARD_HALT that could not be sent (no subject or responder to send it to). */
function haltNotSent(command: { nonce: string; issuedAt: string }, subject: string, problem: string): HaltOutcome {
  return { subject, nonce: command.nonce, issuedAt: command.issuedAt, acknowledged: false, acknowledgement: undefined, problem, ignoredReplies: [], durationMs: 0 };
}
