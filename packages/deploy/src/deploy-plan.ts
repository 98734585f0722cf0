/**
 * planDeploy: what deployRelease would do with this bundle on this host, read and changed nothing.
 *
 * It connects and takes the deploy lock like a deploy (so that it reads a host no deploy is in the
 * middle of changing, and waits for one that is: a plan read mid-deploy would describe a host that
 * is about to be different), reads the host state, the running release's manifest and compose files,
 * the images the engine lacks, the database's migration history and the record of the last start,
 * and decides with the deploy's own rules: admission, the change plan (services that change, the
 * stop order), the images to pull, the migrations pending, the mode, whether Compose has anything to
 * do, and what retention would remove. It uploads nothing, starts no guard, stops, starts and writes
 * nothing, and writes no journal line. Every reason a deploy would be refused is listed at once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TitanMode } from '@titan/host/compose-command';
import { acquireDeployLock } from '@titan/host/deploy-lock';
import { describeHalt } from '@titan/host/halt-mark';
import { findMissingImages, imageReferences } from '@titan/host/image-pull';
import { describeDrift, planMigrations, releaseMigrations } from '@titan/host/migration-plan';
import { DatabaseNotRunningError, databaseTarget, readAppliedMigrations } from '@titan/host/migrations';
import { readHostState } from '@titan/host/host-state';
import { readStackNow } from '@titan/host/stack-record';
import { stackProfileOf } from '@titan/release/manifest';
import { migrationContentProblems } from '@titan/release/migration-content';
import type { SshConnection } from '@titan/ssh/connection';
import { type ChangeReason, planChanges, type ReleaseView } from './change-plan.js';
import { composeWork } from './compose-work.js';
import { hostProblems, haltRefusal, recordedMode } from './host-inspection.js';
import type { DeployRequest } from './deploy.js';
import type { LocalBundle } from '@titan/release/local-bundle';
import { admitRelease } from './release-admission.js';
import { readReleaseView } from './release-view.js';
import { stopsBeforeSwitch } from './stop-before-switch.js';
import { retentionAfterDeploy } from './retention-after-deploy.js';

/** A deploy's request, as far as a plan needs it (healthTimeoutSeconds: the wait for a starting database). */
export type PlanRequest = Pick<DeployRequest, 'bundle' | 'layout' | 'project' | 'mode' | 'healthTimeoutSeconds' | 'lockTimeoutSeconds' | 'keepReleases' | 'actor' | 'runUrl' | 'logger'> &
  Partial<Pick<DeployRequest, 'heartbeatTimeoutSeconds' | 'liftHalt' | 'allowDowngrade' | 'signal'>>;

/** A plan as JSON carries it (the action's `plan` output): only names, digests, ids and sentences. */
export interface DeployPlan {
  readonly releaseId: string;
  readonly host: string;
  /** The release `current` points at, null on a fresh host. */
  readonly previousReleaseId: string | null;
  /** Every reason the deploy would be refused (empty: it would go ahead). */
  readonly refusals: readonly string[];
  /** upload: the bundle is uploaded and verified on the host; on-host: the folder is there and verified again in place. */
  readonly bundle: 'upload' | 'on-host';
  readonly mode: { readonly from: TitanMode | null; readonly to: TitanMode };
  /** An operator's halt, described, when the host is halted. */
  readonly halt: string | null;
  /** Releases whose guard was left by a deploy that is gone: a deploy runs their return plan first. */
  readonly recover: readonly string[];
  readonly images: { readonly total: number; readonly pull: readonly string[] };
  readonly services: readonly { readonly service: string; readonly change: readonly ChangeReason[]; readonly image: string; readonly previousImage: string | null }[];
  readonly changed: readonly string[];
  /** Grouped services stopped before the migrations, group after group, in this order. */
  readonly stop: readonly (readonly string[])[];
  /** Changed Titan services left running until Compose recreates them at the start (no migration pending, one group). */
  readonly recreatedAtStart: readonly string[];
  /** Infrastructure restarted after the switch (its mounted files alone changed). */
  readonly restart: readonly string[];
  readonly migrations: { readonly alreadyApplied: number | null; readonly pending: readonly string[]; readonly note: string | null };
  /** current is flipped to the release (false when it is already current). */
  readonly switch: boolean;
  readonly compose: { readonly up: boolean; readonly why: string };
  readonly retention: { readonly remove: readonly string[]; readonly keep: readonly string[] };
}

export async function planDeploy(connection: SshConnection, request: PlanRequest): Promise<DeployPlan> {
  const { layout, project, logger, bundle } = request;
  const manifest = bundle.manifest;
  const releaseId = manifest.releaseId;
  const database = databaseTarget(stackProfileOf(manifest));
  const refusals: string[] = [];
  const lock = await acquireDeployLock(connection, {
    layout,
    holder: { runUrl: request.runUrl, release: `${releaseId} (plan)`, actor: request.actor },
    timeoutSeconds: request.lockTimeoutSeconds,
    ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
    ...(request.signal !== undefined ? { signal: request.signal } : {}),
    logger,
  });
  try {
    const state = await readHostState(connection, layout);
    refusals.push(...hostProblems(state, layout, connection.host));
    if (state.halted !== undefined && request.liftHalt !== true) refusals.push(haltRefusal(state, connection.host));
    const previous = state.current;
    const sameRelease = previous === releaseId;
    const nextView: ReleaseView = { manifest, compose: bundle.compose };
    const migrationFiles = releaseMigrations(manifest);

    const [previousView, missing, history, stackNow] = await Promise.all([
      previous === undefined || sameRelease ? Promise.resolve(previous === undefined ? undefined : nextView) : readReleaseView(connection, layout, previous, manifest.compose),
      findMissingImages(connection, imageReferences(manifest.images)),
      previous === undefined || migrationFiles.length === 0
        ? Promise.resolve(undefined)
        : readAppliedMigrations(connection, project, { database, waitSeconds: request.healthTimeoutSeconds }).catch((error: unknown) => {
            if (error instanceof DatabaseNotRunningError) return error;
            throw error;
          }),
      previous === undefined ? Promise.resolve(undefined) : readStackNow(connection, layout, project),
    ]);

    await admitRelease(connection, {
      layout,
      state,
      bundle,
      allowDowngrade: request.allowDowngrade === true,
      markedBad: state.releases.find((r) => r.id === releaseId)?.bad === true,
      running: previousView === undefined || sameRelease ? undefined : () => Promise.resolve(previousView.manifest),
      logger,
    }).catch((error: unknown) => refusals.push(error instanceof Error ? error.message : String(error)));

    const modeFrom = recordedMode(state);
    const plan = planChanges(previousView, nextView, { previous: modeFrom, next: request.mode });

    let migrations: DeployPlan['migrations'];
    if (migrationFiles.length === 0) {
      migrations = { alreadyApplied: 0, pending: [], note: 'the release has no migrations' };
    } else if (history === undefined) {
      migrations = { alreadyApplied: null, pending: migrationFiles.map((m) => m.file), note: `first release on this host: ${database.service} starts first, then every migration it has not applied runs` };
    } else if (history instanceof DatabaseNotRunningError) {
      migrations = {
        alreadyApplied: null,
        pending: migrationFiles.map((m) => m.file),
        note: `${history.message} A deploy starts ${database.service} of release ${previous ?? ''} first and reads the history then; the release's migrations are listed, whichever are applied already are skipped`,
      };
    } else {
      const planned = planMigrations(history, migrationFiles);
      if (planned.drift.length > 0) refusals.push(`Migration drift: ${describeDrift(planned.drift)}. An applied migration must never change.`);
      migrations = { alreadyApplied: planned.alreadyApplied, pending: planned.pending.map((m) => m.file), note: null };
    }
    refusals.push(...(await contentProblems(bundle, migrations.pending)));

    const stops = stopsBeforeSwitch(plan, migrations.pending.length);
    const retention = retentionAfterDeploy(state, releaseId, request.keepReleases, 0);
    const compose = composeWork(plan, stackNow, { release: previous, mode: request.mode, lifting: state.halted !== undefined && request.liftHalt === true });
    lock.assertHeld();
    return {
      releaseId,
      host: connection.host,
      previousReleaseId: previous ?? null,
      refusals,
      bundle: state.releases.some((r) => r.id === releaseId) ? 'on-host' : 'upload',
      mode: { from: modeFrom ?? null, to: request.mode },
      halt: state.halted === undefined ? null : `${describeHalt(state.halted)}${request.liftHalt === true ? ' (lift-halt: the deploy lifts it as it starts the stack)' : ''}`,
      recover: state.guards.map((g) => g.release),
      images: { total: Object.keys(manifest.images).length, pull: missing },
      services: plan.services.map((s) => ({ service: s.service, change: s.reasons, image: s.image, previousImage: s.previousImage ?? null })),
      changed: plan.changed,
      stop: stops.groups,
      recreatedAtStart: stops.recreatedAtStart,
      restart: plan.restartAfterSwitch,
      migrations,
      switch: !sameRelease,
      compose,
      retention: { remove: retention.remove, keep: retention.kept },
    };
  } finally {
    await lock.release();
  }
}

/** The migration content rule on the bundle's own files (the host applies it again before a deploy). */
async function contentProblems(bundle: LocalBundle, pending: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of releaseMigrations(bundle.manifest).filter((m) => pending.includes(m.file))) {
    const text = await readFile(join(bundle.dir, file.path), 'utf8');
    for (const problem of migrationContentProblems(text)) out.push(`${file.path}:${problem.line} ${problem.message}: the host refuses to apply it.`);
  }
  return out;
}
