/**
 * Which release a rollback returns to, decided from what the host says (its releases with their
 * confirmed and bad marks, `current`, and journal.jsonl), before anything changes:
 *
 *  - `last-good`: every release that passed verification after its switch (state/<id>.confirmed),
 *    is not marked bad (state/<id>.bad) and is not `current`, most recently run first (the release
 *    folder's modification time, touched when it becomes current; then the id). The first is the
 *    release packages/host's retention always keeps (previousGoodRelease); the later ones are
 *    fallbacks, used when an earlier one no longer verifies on the host or its images cannot be had.
 *  - `previous`: the release that ran before `current`, from the journal: the `previous` of the
 *    newest line that made `current` current (a deploy with result `deployed`, or a rollback with
 *    result `rolled-back`). One candidate.
 *  - a release id: that release. One candidate.
 * A release named explicitly (`previous` or an id) that is marked bad is still used, with a warning:
 * the operator named it.
 */
import type { HostRelease, HostState } from '@titan/host/host-state';

export type RollbackTo = { readonly kind: 'last-good' } | { readonly kind: 'previous' } | { readonly kind: 'release'; readonly id: string };

export interface RollbackCandidates {
  /** Releases to try, in order; each is verified on the host before it may become current. */
  readonly candidates: readonly string[];
  /** Warnings about the choice (a named release marked bad, ...). */
  readonly warnings: readonly string[];
}

/** No release to return to: what is wrong and what the host has. */
export class RollbackTargetError extends Error {
  override readonly name = 'RollbackTargetError';
}

/** Most recently run first (folder mtime, then id). */
function newestFirst(a: HostRelease, b: HostRelease): number {
  return b.mtime - a.mtime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function describeTo(to: RollbackTo): string {
  return to.kind === 'release' ? to.id : to.kind;
}

export function rollbackCandidates(state: HostState, journal: readonly Record<string, unknown>[], to: RollbackTo): RollbackCandidates {
  const byId = new Map(state.releases.map((r) => [r.id, r]));
  if (to.kind === 'last-good') {
    const candidates = [...state.releases]
      .filter((r) => r.id !== state.current && r.confirmed && !r.bad)
      .sort(newestFirst)
      .map((r) => r.id);
    if (candidates.length === 0) {
      throw new RollbackTargetError(
        `There is no good release to return to: no release other than current (${state.current ?? 'none'}) was confirmed after a verified deploy and is not marked bad. ` +
          `Available releases: ${availableReleases(state)}. Name one with to: <release id>, or deploy a release.`,
      );
    }
    return { candidates, warnings: [] };
  }

  const id = to.kind === 'previous' ? previousRelease(journal, state) : to.id;
  const release = byId.get(id);
  if (release === undefined) {
    throw new RollbackTargetError(
      `${to.kind === 'previous' ? `The previous release ${id} (from the journal)` : `Release ${id}`} is not on the host. ` +
        `Available releases: ${availableReleases(state)}.`,
    );
  }
  if (id === state.current) {
    throw new RollbackTargetError(`Release ${id} is already current. To start it again, use mode: restart.`);
  }
  const warnings = release.bad ? [`Release ${id} is marked bad on the host; returning to it as asked.`] : [];
  if (!release.confirmed) warnings.push(`Release ${id} was never confirmed by a verified deploy; it is verified on the host and after the start.`);
  return { candidates: [id], warnings };
}

/** The release that ran before current, from the journal (newest line that made current current). */
export function previousRelease(journal: readonly Record<string, unknown>[], state: HostState): string {
  const current = state.current;
  if (current === undefined) {
    throw new RollbackTargetError(`No release is current on the host, so there is no previous one. Available releases: ${availableReleases(state)}.`);
  }
  for (let i = journal.length - 1; i >= 0; i -= 1) {
    const entry = journal[i];
    if (entry === undefined || entry['release'] !== current) continue;
    const madeCurrent =
      (entry['action'] === 'deploy' && entry['result'] === 'deployed') || (entry['action'] === 'rollback' && entry['result'] === 'rolled-back');
    const previous = entry['previous'];
    if (madeCurrent && typeof previous === 'string' && previous !== '' && previous !== current) return previous;
  }
  throw new RollbackTargetError(
    `The journal records no release that ran before ${current}. Use to: last-good, or name a release. Available releases: ${availableReleases(state)}.`,
  );
}

/** `id (current, confirmed)` ..., newest first: for error messages. */
export function availableReleases(state: HostState): string {
  if (state.releases.length === 0) return 'none';
  return [...state.releases]
    .sort(newestFirst)
    .map((r) => {
      const marks = [r.id === state.current ? 'current' : '', r.confirmed ? 'confirmed' : 'unconfirmed', r.bad ? 'bad' : ''].filter((m) => m !== '');
      return `${r.id} (${marks.join(', ')})`;
    })
    .join(', ');
}
