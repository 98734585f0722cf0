/**
 * One rollback run over one host session: what its phases share (the HARD_HALT's outcome, the
 * lock, the host as read, what was stopped and switched), its safe points, the one journal line it
 * writes, and its outcome. The phases (rollback-halt.ts, rollback-choice.ts, rollback-return.ts) and
 * the end of a failed or cancelled run (rollback-ending.ts) read and set it; rollback.ts runs them.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HeldDeployLock } from '@titan/host/deploy-lock';
import type { HostLayout } from '@titan/host/host-layout';
import type { HostState } from '@titan/host/host-state';
import { appendJournal } from '@titan/host/journal';
import type { Logger } from '@titan/log/logger';
import { cancellationCause, throwIfCancelled } from '@titan/phases/cancellation';
import { firstLine } from '@titan/phases/first-line';
import { PhaseClock } from '@titan/phases/phase-clock';
import { operatorServices, type StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { HaltOutcome } from './hard-halt.js';
import type { StoppedGroup } from './orderly-stop.js';
import type { RefusedRelease, RollbackMode, RollbackOutcome, RollbackRequest, RollbackResult } from './rollback.js';
import { describeTo } from './rollback-target.js';
import type { RunningProfile } from './running-profile.js';

/** A stack started by a rollback or a restart always runs DISARMED (re-arm with an explicit deploy). */
export const ROLLBACK_TITAN_MODE: TitanMode = 'DISARMED';

export class RollbackRun {
  readonly connection: SshConnection;
  readonly request: RollbackRequest;
  readonly layout: HostLayout;
  readonly project: string;
  readonly mode: RollbackMode;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
  readonly startedAt = new Date();
  readonly clock: PhaseClock;
  readonly warnings: string[] = [];
  readonly refused: RefusedRelease[] = [];

  /** The running release's stack profile as read before the HARD_HALT. */
  running: RunningProfile = { profile: undefined, problem: 'not read yet' };
  /** The HARD_HALT's outcome (set by the halt phase, before anything else). */
  halt: HaltOutcome | undefined;
  /** The nonce of the halt mark this run wrote (its own halt, which restart and rollback lift). */
  haltNonce = '';
  lock: HeldDeployLock | undefined;
  state: HostState | undefined;
  stopped: StoppedGroup[] = [];
  releaseBefore: string | undefined;
  releaseAfter: string | undefined;
  target: string | undefined;
  markedBad: string | undefined;
  verification: VerifyReport | undefined;
  result: RollbackResult = 'failed';
  failure: Error | undefined;
  hostStatus: string | undefined;
  journalWritten = false;
  /** Set once the run handles its end: a cancellation arriving then no longer aborts host work. */
  ending = false;
  /** The stack was started (DISARMED) by this run. */
  started = false;

  constructor(connection: SshConnection, request: RollbackRequest) {
    this.connection = connection;
    this.request = request;
    this.layout = request.layout;
    this.project = request.project;
    this.mode = request.mode;
    this.logger = request.logger;
    this.signal = request.signal;
    this.clock = new PhaseClock(this.logger);
  }

  /** The running release's profile, when it could be read. */
  get profile(): StackProfile | undefined {
    return this.running.profile;
  }

  /** The lock this run holds (from the lock phase on). */
  get heldLock(): HeldDeployLock {
    if (this.lock === undefined) throw new Error('The deploy lock is not held yet.');
    return this.lock;
  }

  /** The profile that says how the stack stops: the running release's, else (restart, rollback) the checked target's. */
  stopProfile(fallback?: StackProfile): StackProfile {
    const found = this.profile ?? fallback;
    if (found === undefined) throw new Error(`Cannot stop the stack in order: ${this.running.profile === undefined ? this.running.problem : 'no stack profile'}.`);
    return found;
  }

  warn(message: string): void {
    this.warnings.push(message);
    this.logger.warning(message);
  }

  /** The abort listener: says where the cancellation arrived and ends the host's work in flight. */
  readonly cancel = (): void => {
    this.logger.warning(`Cancellation (${cancellationCause(this.signal)}) received during ${this.clock.latest ?? 'the start'}: stopping at the next safe point.`);
    if (!this.ending) void this.lock?.abortWork();
  };

  /** A safe point: cancelled runs stop here. */
  checkpoint(): void {
    throwIfCancelled(this.signal, this.clock.latest);
  }

  /** The run's journal line, once (a run that reached the host). */
  async writeJournal(): Promise<void> {
    if (this.journalWritten) return;
    this.journalWritten = true;
    if (this.connection.closed || (this.lock !== undefined && !this.lock.held)) return;
    const halt = this.halt;
    await appendJournal(this.connection, this.layout, {
      time: new Date().toISOString(),
      action: 'rollback',
      rollbackMode: this.mode,
      result: this.result,
      release: this.releaseAfter ?? null,
      previous: this.releaseBefore ?? null,
      mode: this.started ? ROLLBACK_TITAN_MODE : (this.state?.mode ?? null),
      to: this.mode === 'rollback' ? describeTo(this.request.to) : null,
      actor: this.request.actor,
      runUrl: this.request.runUrl,
      reason: this.request.reason,
      halt: { subject: halt?.subject ?? '', nonce: halt?.nonce ?? this.haltNonce, acknowledged: halt?.acknowledged ?? false },
      refused: this.refused.map((r) => ({ release: r.release, reason: r.reason })),
      stopped: this.stopped.flatMap((g) => g.services),
      phases: this.clock.durations(),
      ...(this.result === 'cancelled' && this.clock.latest !== undefined ? { phase: this.clock.latest } : {}),
      ...(this.failure !== undefined ? { error: firstLine(this.failure.message) } : {}),
    }).catch((e: unknown) => this.logger.warning(`Could not append to ${this.layout.journal}: ${describeError(e)}`));
  }

  /** The journal line, the lock released, and the outcome. */
  async finish(): Promise<RollbackOutcome> {
    await this.writeJournal();
    await this.lock?.release();
    const halt = this.halt;
    if (halt === undefined) throw new Error('The rollback ended before its HARD_HALT.');
    return {
      mode: this.mode,
      result: this.result,
      releaseBefore: this.releaseBefore,
      releaseAfter: this.releaseAfter,
      target: this.target,
      halt,
      lockWaitedMs: this.lock?.waitedMs,
      refused: this.refused,
      stopped: this.stopped,
      leftRunning: this.mode === 'stop' && this.result === 'stopped' && this.profile !== undefined ? operatorServices(this.profile) : [],
      markedBad: this.markedBad,
      verification: this.verification,
      warnings: this.warnings,
      hostStatus: this.hostStatus,
      phases: this.clock.records,
      error: this.failure,
      startedAt: this.startedAt.toISOString(),
      durationMs: this.clock.elapsedMs(),
    };
  }
}
