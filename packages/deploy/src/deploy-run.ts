/**
 * One deploy over one host session: what its phases share (the lock, what the host was found in,
 * what changed so far), its safe points, and the one journal line it writes at the end. The phases
 * (deploy-host-read.ts, deploy-install.ts, deploy-migrations.ts, deploy-switch.ts,
 * deploy-confirm.ts) and the ends (deploy-ending.ts) read and set it; deploy.ts runs them in order.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HeldDeployLock } from '@titan/host/deploy-lock';
import type { HostLayout } from '@titan/host/host-layout';
import { type DeployResult, type JournalEntry, appendJournal } from '@titan/host/journal';
import { type DatabaseTarget, databaseTarget } from '@titan/host/migrations';
import type { Logger } from '@titan/log/logger';
import { cancellationCause, throwIfCancelled } from '@titan/phases/cancellation';
import { firstLine } from '@titan/phases/first-line';
import { PhaseClock } from '@titan/phases/phase-clock';
import { type ReleaseManifest, stackProfileOf } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import { describeError } from '@titan/ssh/errors';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { ChangePlan, ReleaseView } from './change-plan.js';
import type { DeployOutcome, DeployRequest, MigrationSummary } from './deploy.js';

/** Revert is always to DISARMED: an automatic return never arms a stack (re-arm with an explicit deploy). */
export const REVERT_MODE: TitanMode = 'DISARMED';

export class DeployRun {
  readonly connection: SshConnection;
  readonly request: DeployRequest;
  readonly layout: HostLayout;
  readonly project: string;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
  readonly manifest: ReleaseManifest;
  readonly releaseId: string;
  /** The new release's stack profile (readLocalBundle refused a bundle without one). */
  readonly profile: StackProfile;
  readonly database: DatabaseTarget;
  readonly startedAt = new Date();
  readonly clock: PhaseClock;
  readonly nextView: ReleaseView;
  readonly journalFields: Readonly<Record<string, unknown>>;

  lock: HeldDeployLock | undefined;
  /** The release `current` pointed at (after any recovery). */
  previous: string | undefined;
  previousView: ReleaseView | undefined;
  hostChanged = false;
  reusedRelease = false;
  plan: ChangePlan | undefined;
  migrations: MigrationSummary = { alreadyApplied: 0, applied: [], pending: [] };
  verification: VerifyReport | undefined;
  rollbackVerification: VerifyReport | undefined;
  removedReleases: string[] = [];
  recovered: string | undefined;
  result: DeployResult = 'failed';
  failure: Error | undefined;
  hostStatus: string | undefined;
  stoppedIn: string | undefined;
  /** The guard phase began: from here on the host has a return plan for this release. */
  guarded = false;
  /** The running stack was touched past the point of a plain restore: switched, or (same release) started again. */
  stackTouched = false;
  sameRelease = false;
  confirmed = false;
  journalWritten = false;
  /** Set once the run handles its end: a cancellation arriving then no longer aborts host work. */
  ending = false;
  /** The halt mark this deploy lifts (lift-halt), by its nonce. */
  lifting: string | undefined;

  constructor(connection: SshConnection, request: DeployRequest) {
    this.connection = connection;
    this.request = request;
    this.layout = request.layout;
    this.project = request.project;
    this.logger = request.logger;
    this.signal = request.signal;
    this.manifest = request.bundle.manifest;
    this.releaseId = this.manifest.releaseId;
    this.profile = stackProfileOf(this.manifest);
    this.database = databaseTarget(this.profile);
    this.clock = new PhaseClock(this.logger);
    this.nextView = { manifest: this.manifest, compose: request.bundle.compose };
    this.journalFields = { actor: request.actor, runUrl: request.runUrl, action: 'deploy' };
  }

  /** The lock this run holds (from the lock phase on). */
  get heldLock(): HeldDeployLock {
    if (this.lock === undefined) throw new Error('The deploy lock is not held yet.');
    return this.lock;
  }

  /** The abort listener: says where the cancellation arrived and ends the host's work in flight. */
  readonly cancel = (): void => {
    this.stoppedIn ??= this.clock.latest;
    this.logger.warning(`Cancellation (${cancellationCause(this.signal)}) received during ${this.clock.latest ?? 'the start'}: stopping at the next safe point.`);
    if (!this.ending) void this.lock?.abortWork();
  };

  /** A safe point: cancelled runs stop here. */
  checkpoint(): void {
    throwIfCancelled(this.signal, this.stoppedIn ?? this.clock.latest);
  }

  /** True when the host ended this run's lock (or its connection): nothing more may be changed. */
  async lockLost(): Promise<boolean> {
    const lock = this.lock;
    if (lock === undefined) return false;
    // The lock channel's end may still be on its way when a command of the same session failed first.
    for (let i = 0; i < 5 && lock.held && !this.connection.closed; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    return !lock.held || this.connection.closed;
  }

  /** The run's journal line: for a run that changed the host, or was cancelled (one O_APPEND write). */
  async writeJournal(): Promise<void> {
    this.journalWritten = true;
    // A cancelled run leaves its line even when it was still waiting for the lock.
    if (this.connection.closed || (this.lock !== undefined && !this.lock.held)) return;
    if (this.result !== 'cancelled' && (this.lock === undefined || !this.hostChanged)) return;
    const entry: JournalEntry = {
      time: new Date().toISOString(),
      action: 'deploy',
      result: this.result,
      release: this.releaseId,
      previous: this.previous ?? null,
      mode: this.request.mode,
      actor: this.request.actor,
      runUrl: this.request.runUrl,
      phases: this.clock.durations(),
      ...(this.result !== 'deployed' && this.stoppedIn !== undefined ? { phase: this.stoppedIn } : {}),
      ...(this.failure !== undefined ? { reason: firstLine(this.failure.message) } : {}),
    };
    await appendJournal(this.connection, this.layout, entry).catch((e: unknown) => this.logger.warning(`Could not append to ${this.layout.journal}: ${describeError(e)}`));
  }

  outcome(): DeployOutcome {
    return {
      result: this.result,
      releaseId: this.releaseId,
      previousReleaseId: this.previous,
      mode: this.request.mode,
      hostChanged: this.hostChanged,
      reusedRelease: this.reusedRelease,
      phases: this.clock.records,
      plan: this.plan,
      migrations: this.migrations,
      verification: this.verification,
      rollbackVerification: this.rollbackVerification,
      removedReleases: this.removedReleases,
      recovered: this.recovered,
      hostStatus: this.hostStatus,
      stoppedIn: this.result === 'deployed' ? undefined : this.stoppedIn,
      error: this.failure,
      startedAt: this.startedAt.toISOString(),
      durationMs: this.clock.elapsedMs(),
    };
  }
}
