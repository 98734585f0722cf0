/**
 * deployRelease: one signed release onto one host, over one SSH connection, fail closed.
 *
 *  lock       take the host's deploy lock (held while this run heartbeats: deploy-lock.ts)
 *  inspect    read the host: current release, trusted keys, production values, guards, halt mark
 *  recover    a guard left by a deploy that is gone runs its return plan first
 *  admit      a reused release id only with a byte-identical manifest; no downgrade (older, or marked
 *             bad) unless allow-downgrade (release-admission.ts)
 *  install    upload the bundle, verify it ON THE HOST, rename it to releases/<id>
 *  plan       what changes: images, definitions, mounted files, mode (change-plan.ts)
 *  pull       every image by digest, before anything stops
 *  migrations-check  the database's migration history against the release (drift refused), and the
 *             host's copy of each pending migration against the migration content rule
 *  guard      start the commit-confirmed guard on the host: from here until confirm the host
 *             returns by itself if this run is gone (killed, cancelled, frozen, cut off)
 *  stop       the Titan services that change, in order
 *  migrate    each pending migration in one transaction, its history row read back
 *  switch     flip current atomically (not for a redeploy of the running release)
 *  start      state/mode, then docker compose up -d --remove-orphans from current (TITAN_MODE set explicitly)
 *  verify     verifyStack within health-timeout
 *  confirm    the guard stands down
 *  retention  keep keep-releases releases
 * Each phase has its module (deploy-host-read.ts, deploy-install.ts, deploy-migrations.ts,
 * deploy-guard.ts, deploy-start.ts, deploy-confirm.ts); they share one DeployRun (deploy-run.ts):
 * one host session whose lock is released and whose journal line is written in `finally`.
 * A failure after the guard runs the guard's own plan (guard.ts): before the switch the stopped
 * services start again as they were, after it the previous release comes back and is verified and
 * the new one is marked bad (result rolled-back). A cancellation (request.signal) stops at the next
 * safe point: the host ends the work in flight, the run writes its journal line `cancelled`, starts
 * again what it stopped before the switch, and after the switch leaves the return to the guard,
 * which acts as soon as the lock is released. An operator's halt (state/halted) refuses the deploy
 * unless it lifts it, and one that arrives while it runs stops it before it starts or arms anything.
 * A run that lost its lock (the host ended its session) changes nothing more. One journal line per
 * deploy that changed the host (or was cancelled while holding the lock).
 */
import type { TitanMode } from '@titan/host/compose-command';
import type { HostLayout } from '@titan/host/host-layout';
import type { DeployResult } from '@titan/host/journal';
import type { Logger } from '@titan/log/logger';
import type { PhaseRecord } from '@titan/phases/phase-clock';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from '@titan/verify/verify-stack';
import type { ChangePlan } from './change-plan.js';
import { keepReleases, verifyAndConfirm } from './deploy-confirm.js';
import { endAfterError } from './deploy-ending.js';
import { guardAndStop } from './deploy-guard.js';
import { readHost } from './deploy-host-read.js';
import { installAndPlan } from './deploy-install.js';
import { applyMigrations, checkMigrations } from './deploy-migrations.js';
import { DeployRun } from './deploy-run.js';
import { switchAndStart } from './deploy-start.js';
import type { LocalBundle } from '@titan/release/local-bundle';

export interface DeployRequest {
  readonly bundle: LocalBundle;
  readonly layout: HostLayout;
  readonly project: string;
  readonly mode: TitanMode;
  readonly healthTimeoutSeconds: number;
  readonly confirmTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  /** Seconds without a heartbeat after which the host ends this deploy and frees its lock (default 60). */
  readonly heartbeatTimeoutSeconds?: number;
  readonly keepReleases: number;
  /** Deploy onto a host an operator halted, lifting the halt (otherwise such a host is refused). */
  readonly liftHalt?: boolean;
  /** Deploy a release older than the running one, or one marked bad (otherwise refused: release-admission.ts). */
  readonly allowDowngrade?: boolean;
  /** Aborted when the run is cancelled (SIGINT/SIGTERM): the deploy stops at its next safe point. */
  readonly signal?: AbortSignal;
  /** Who deploys (GITHUB_ACTOR) and the run's URL: into the lock holder file and the journal. */
  readonly actor: string;
  readonly runUrl: string;
  readonly logger: Logger;
  /** Pause between verification polls (default verifyStack's). */
  readonly verifyPollMs?: number;
}

export interface MigrationSummary {
  readonly alreadyApplied: number;
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

export interface DeployOutcome {
  readonly result: DeployResult;
  readonly releaseId: string;
  /** The release `current` pointed at before (after any recovery), if any. */
  readonly previousReleaseId: string | undefined;
  readonly mode: TitanMode;
  /** False when the deploy was refused before it changed anything on the host. */
  readonly hostChanged: boolean;
  /** The release folder was already on the host (verified again in place). */
  readonly reusedRelease: boolean;
  readonly phases: readonly PhaseRecord[];
  readonly plan: ChangePlan | undefined;
  readonly migrations: MigrationSummary;
  readonly verification: VerifyReport | undefined;
  /** The previous release's verification after a rollback. */
  readonly rollbackVerification: VerifyReport | undefined;
  readonly removedReleases: readonly string[];
  /** A release left unconfirmed by an earlier deploy whose return plan this one ran first. */
  readonly recovered: string | undefined;
  /** What the host is left in, in a sentence, when the run did not deploy (cancelled, failed, lost its lock). */
  readonly hostStatus: string | undefined;
  /** The phase in which the run was cancelled or failed. */
  readonly stoppedIn: string | undefined;
  readonly error: Error | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

export async function deployRelease(connection: SshConnection, request: DeployRequest): Promise<DeployOutcome> {
  const run = new DeployRun(connection, request);
  const { signal } = request;
  signal?.addEventListener('abort', run.cancel, { once: true });
  try {
    const read = await readHost(run);
    const plan = await installAndPlan(run, read);
    const pending = await checkMigrations(run, read);
    const runningTarget = await guardAndStop(run, read, plan, pending);
    await applyMigrations(run, pending, runningTarget);
    await switchAndStart(run, read, plan);
    await verifyAndConfirm(run);
    await keepReleases(run, read.state);
  } catch (error: unknown) {
    await endAfterError(run, error);
  } finally {
    signal?.removeEventListener('abort', run.cancel);
    await run.end();
  }
  return run.outcome();
}
