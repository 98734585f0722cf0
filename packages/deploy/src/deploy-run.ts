/**
 * One deploy over one host session: what its phases share (the lock, what the host was found in,
 * what changed so far), its safe points, and the one journal line it writes at the end. The phases
 * (deploy-host-read.ts, deploy-install.ts, deploy-migrations.ts, deploy-switch.ts,
 * deploy-confirm.ts) and the ends (deploy-ending.ts) read and set it; deploy.ts runs them in order.
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { DeployResult, JournalEntry } from '@titan/host/journal';
import { type DatabaseTarget, databaseTarget } from '@titan/host/migrations';
import { firstLine } from '@titan/phases/first-line';
import { HostSessionRun, type RunJournalCommon } from '@titan/phases/host-session-run';
import { type ReleaseManifest, stackProfileOf } from '@titan/release/manifest';
import type { StackProfile } from '@titan/release/stack-profile';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { ChangePlan, ReleaseView } from './change-plan.js';
import type { DeployOutcome, DeployRequest, MigrationSummary } from './deploy.js';

/** Revert is always to DISARMED: an automatic return never arms a stack (re-arm with an explicit deploy). */
export const REVERT_MODE: TitanMode = 'DISARMED';

export class DeployRun extends HostSessionRun<DeployRequest> {
  readonly manifest: ReleaseManifest;
  readonly releaseId: string;
  /** The new release's stack profile (readLocalBundle refused a bundle without one). */
  readonly profile: StackProfile;
  readonly database: DatabaseTarget;
  readonly nextView: ReleaseView;
  readonly journalFields: Readonly<Record<string, unknown>>;

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
  /** Where the run stopped: the phase a cancellation or a failure arrived in. */
  stoppedIn: string | undefined;
  /** The guard phase began: from here on the host has a return plan for this release. */
  guarded = false;
  /** The running stack was touched past the point of a plain restore: switched, or (same release) started again. */
  stackTouched = false;
  sameRelease = false;
  confirmed = false;
  /** The halt mark this deploy lifts (lift-halt), by its nonce. */
  lifting: string | undefined;

  constructor(connection: SshConnection, request: DeployRequest) {
    super(connection, request);
    this.manifest = request.bundle.manifest;
    this.releaseId = this.manifest.releaseId;
    this.profile = stackProfileOf(this.manifest);
    this.database = databaseTarget(this.profile);
    this.nextView = { manifest: this.manifest, compose: request.bundle.compose };
    this.journalFields = { actor: request.actor, runUrl: request.runUrl, action: 'deploy' };
  }

  /** A deploy's safe points name the phase the cancellation arrived in. */
  protected override get cancelledIn(): string | undefined {
    return this.stoppedIn ?? this.clock.latest;
  }

  protected override noteCancellation(): void {
    this.stoppedIn ??= this.clock.latest;
  }

  /** A line for a run that changed the host, or was cancelled (even while it was still waiting for the lock). */
  protected journalEntry(common: RunJournalCommon): JournalEntry | undefined {
    if (this.result !== 'cancelled' && (this.lock === undefined || !this.hostChanged)) return undefined;
    return {
      action: 'deploy',
      result: this.result,
      release: this.releaseId,
      previous: this.previous ?? null,
      mode: this.request.mode,
      ...common,
      ...(this.result !== 'deployed' && this.stoppedIn !== undefined ? { phase: this.stoppedIn } : {}),
      ...(this.failure !== undefined ? { reason: firstLine(this.failure.message) } : {}),
    };
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
