/**
 * Which release a restart or a rollback starts, verified on the host with its images present
 * BEFORE anything stops (release-check.ts):
 *  check   restart: the current release
 *  target  rollback: the candidates in order (rollback-target.ts); `last-good` moves on past a
 *          release that is refused, an explicit target that is refused ends the run
 */
import type { HostState } from '@titan/host/host-state';
import { type CheckedRelease, ReleaseRefusedError, checkRelease } from './release-check.js';
import type { RollbackRun } from './rollback-run.js';
import { RollbackTargetError, availableReleases, describeTo, rollbackCandidates } from './rollback-target.js';

/** restart: the current release checked again. */
export async function checkCurrent(run: RollbackRun, hostState: HostState): Promise<CheckedRelease> {
  const { connection, layout, logger } = run;
  const current = hostState.current;
  if (current === undefined) {
    throw new RollbackTargetError(`No release is current on ${connection.host}: there is nothing to restart. Available releases: ${availableReleases(hostState)}.`);
  }
  return run.clock.run('check', async () => {
    try {
      return await checkRelease(connection, layout, current, logger);
    } catch (error: unknown) {
      if (error instanceof ReleaseRefusedError) {
        run.refused.push({ release: current, stage: error.stage, reason: error.reason });
        throw new Error(`${error.message} Nothing was stopped: the current release must not start again. Roll back to a good release (mode: rollback).`, { cause: error });
      }
      throw error;
    }
  });
}

/** rollback: the first good candidate; sets the run's target. */
export async function chooseTarget(run: RollbackRun, hostState: HostState, journal: readonly Record<string, unknown>[]): Promise<CheckedRelease> {
  const { connection, layout, logger, request, refused } = run;
  const choice = rollbackCandidates(hostState, journal, request.to);
  for (const warning of choice.warnings) run.warn(warning);
  logger.info(`Rollback to ${describeTo(request.to)}: ${choice.candidates.length === 1 ? 'release' : 'candidates, in order:'} ${choice.candidates.join(', ')}.`);
  const checked = await run.clock.run('target', async () => {
    for (const candidate of choice.candidates) {
      run.heldLock.assertHeld();
      try {
        return await checkRelease(connection, layout, candidate, logger);
      } catch (error: unknown) {
        if (!(error instanceof ReleaseRefusedError)) throw error;
        refused.push({ release: candidate, stage: error.stage, reason: error.reason });
        if (request.to.kind !== 'last-good') throw new Error(`${error.message} Nothing was stopped or switched.`, { cause: error });
        run.warn(`Skipping release ${candidate}: ${error.reason}.`);
      }
    }
    throw new RollbackTargetError(
      `No good release is usable: ${refused.map((r) => `${r.release} (${r.reason})`).join('; ')}. Nothing was stopped or switched. ` +
        `Available releases: ${availableReleases(hostState)}.`,
    );
  });
  run.target = checked.releaseId;
  return checked;
}
