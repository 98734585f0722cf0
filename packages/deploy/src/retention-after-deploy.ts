/**
 * Which releases the retention phase removes once a release is confirmed, decided from the host
 * state read under the lock (no second read): the new release is current and the most recently run,
 * confirmed, its guard gone. The deploy carries it out; a plan shows it.
 */
import type { HostState } from '@titan/host/host-state';
import { type RetentionDecision, selectReleasesToRemove } from '@titan/host/retention';

export function retentionAfterDeploy(state: HostState, releaseId: string, keep: number, elapsedSeconds: number): RetentionDecision {
  const releases = [
    ...state.releases.filter((r) => r.id !== releaseId),
    { id: releaseId, mtime: state.now + Math.ceil(elapsedSeconds), bad: false, confirmed: true },
  ];
  const guards = state.guards.filter((g) => g.release !== releaseId);
  return selectReleasesToRemove({ releases, current: releaseId, keep, guards });
}
