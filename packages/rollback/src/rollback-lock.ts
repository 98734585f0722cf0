/**
 * The phases every mode but `halt` runs after the HARD_HALT and the halt mark:
 *  lock     the deploy's lock (packages/host acquireDeployLock, with its heartbeat): a rollback
 *           never interleaves with a deploy
 *  inspect  the host's state (and, for a rollback, its journal: where last-good returns to)
 * and mode `stop`: the orderly shutdown of the trading groups of the stack profile only; the other
 * groups (the operator surface) and the infrastructure keep running.
 */
import { acquireDeployLock } from '@titan/host/deploy-lock';
import { type HostState, readHostState } from '@titan/host/host-state';
import { operatorServices } from '@titan/release/stack-profile';
import { shutdownGroups, stopInOrder } from './orderly-stop.js';
import { readJournal } from './rollback-journal.js';
import type { RollbackRun } from './rollback-run.js';
import { describeTo } from './rollback-target.js';

export interface InspectedHost {
  readonly state: HostState;
  /** The journal's lines (read for mode rollback only). */
  readonly journal: readonly Record<string, unknown>[];
}

/** lock, then inspect. Sets the run's lock, state, releaseBefore and releaseAfter. */
export async function lockAndInspect(run: RollbackRun): Promise<InspectedHost> {
  const { connection, layout, logger, request, clock, mode, signal } = run;
  logger.info(`Taking the deploy lock ${layout.lockFile} (waiting up to ${request.lockTimeoutSeconds} s for a deploy that holds it).`);
  run.lock = await clock.run('lock', () =>
    acquireDeployLock(connection, {
      layout,
      holder: { runUrl: request.runUrl, release: mode === 'rollback' ? `rollback to ${describeTo(request.to)}` : mode, actor: request.actor },
      timeoutSeconds: request.lockTimeoutSeconds,
      ...(request.heartbeatTimeoutSeconds !== undefined ? { heartbeatTimeoutSeconds: request.heartbeatTimeoutSeconds } : {}),
      ...(signal !== undefined ? { signal } : {}),
      logger,
    }),
  );
  let journal: Record<string, unknown>[] = [];
  run.checkpoint();
  const state = await clock.run('inspect', async () => {
    const found = await readHostState(connection, layout);
    if (mode === 'rollback') journal = await readJournal(connection, layout);
    return found;
  });
  run.state = state;
  run.releaseBefore = state.current;
  run.releaseAfter = state.current;
  return { state, journal };
}

/** Mode `stop`: the trading groups stopped in order; the operator surface and the infrastructure keep running. */
export async function stopTrading(run: RollbackRun): Promise<void> {
  const { connection, logger, request, project } = run;
  const groups = shutdownGroups(run.stopProfile(), 'trading');
  run.stopped = await run.clock.run('stop', () => stopInOrder(connection, { project, groups, stopTimeoutSeconds: request.stopTimeoutSeconds, logger }));
  const surface = operatorServices(run.stopProfile());
  logger.info(`Left running: ${surface.length > 0 ? `${surface.join(', ')} and ` : ''}the infrastructure.`);
  run.result = 'stopped';
}
