/**
 * One rollback run over one host session: what its phases share (the HARD_HALT's outcome, the
 * lock, the host as read, what was stopped and switched), its safe points, the one journal line it
 * writes, and its outcome. The phases (rollback-halt.ts, rollback-choice.ts, rollback-return.ts) and
 * the end of a failed or cancelled run (rollback-ending.ts) read and set it; rollback.ts runs them.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HostState } from '@titan/host/host-state';
import type { JournalEntry } from '@titan/host/journal';
import { firstLine } from '@titan/phases/first-line';
import { HostSessionRun, type RunJournalCommon } from '@titan/phases/host-session-run';
import { operatorServices, type StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { HaltOutcome } from './hard-halt.js';
import type { StoppedGroup } from './orderly-stop.js';
import type { RefusedRelease, RollbackMode, RollbackOutcome, RollbackRequest, RollbackResult } from './rollback.js';
import { describeTo } from './rollback-target.js';
import type { RunningProfile } from './running-profile.js';

/** A stack started by a rollback or a restart always runs DISARMED (re-arm with an explicit deploy). */
export const ROLLBACK_TITAN_MODE: TitanMode = 'DISARMED';

export class RollbackRun extends HostSessionRun<RollbackRequest> {
  readonly mode: RollbackMode;
  readonly warnings: string[] = [];
  readonly refused: RefusedRelease[] = [];

  /** The running release's stack profile as read before the HARD_HALT. */
  running: RunningProfile = { profile: undefined, problem: 'not read yet' };
  /** The HARD_HALT's outcome (set by the halt phase, before anything else). */
  halt: HaltOutcome | undefined;
  /** The nonce of the halt mark this run wrote (its own halt, which restart and rollback lift). */
  haltNonce = '';
  state: HostState | undefined;
  stopped: StoppedGroup[] = [];
  releaseBefore: string | undefined;
  releaseAfter: string | undefined;
  target: string | undefined;
  markedBad: string | undefined;
  verification: VerifyReport | undefined;
  result: RollbackResult = 'failed';
  /** The stack was started (DISARMED) by this run. */
  started = false;

  constructor(connection: SshConnection, request: RollbackRequest) {
    super(connection, request);
    this.mode = request.mode;
  }

  /** The running release's profile, when it could be read. */
  get profile(): StackProfile | undefined {
    return this.running.profile;
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

  /** One line per rollback run that reached the host, whatever its mode and outcome. */
  protected journalEntry(common: RunJournalCommon): JournalEntry {
    const halt = this.halt;
    return {
      action: 'rollback',
      rollbackMode: this.mode,
      result: this.result,
      release: this.releaseAfter ?? null,
      previous: this.releaseBefore ?? null,
      mode: this.started ? ROLLBACK_TITAN_MODE : (this.state?.mode ?? null),
      to: this.mode === 'rollback' ? describeTo(this.request.to) : null,
      ...common,
      reason: this.request.reason,
      halt: { subject: halt?.subject ?? '', nonce: halt?.nonce ?? this.haltNonce, acknowledged: halt?.acknowledged ?? false },
      refused: this.refused.map((r) => ({ release: r.release, reason: r.reason })),
      stopped: this.stopped.flatMap((g) => g.services),
      ...(this.result === 'cancelled' && this.clock.latest !== undefined ? { phase: this.clock.latest } : {}),
      ...(this.failure !== undefined ? { error: firstLine(this.failure.message) } : {}),
    };
  }

  /** The journal line, the lock released, and the outcome. */
  async finish(): Promise<RollbackOutcome> {
    await this.end();
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
