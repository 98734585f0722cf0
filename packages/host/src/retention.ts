/**
 * Release retention: keep the `keep` most recently run releases and never remove one that may still
 * be needed: `current`, the previous good release (the rollback target), a release a waiting guard
 * may return to or is guarding, or any release that became current after a guard that is still
 * waiting started. Leftover partial uploads (from a deploy that was killed mid-upload) go too.
 * The choice is pure (selectReleasesToRemove); removeReleases carries it out on the host.
 */
import { RELEASE_ID_PATTERN } from '@titan/release/release-id';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';
import { recordsOf } from './host-record.js';
import { runHostScript } from './host-script.js';
import type { GuardRecord, HostRelease } from './host-state.js';

export interface RetentionInput {
  readonly releases: readonly HostRelease[];
  readonly current: string | undefined;
  readonly keep: number;
  readonly guards: readonly GuardRecord[];
}

export interface RetentionDecision {
  readonly remove: string[];
  readonly kept: string[];
  /** Why each protected release is kept regardless of `keep`. */
  readonly protectedReasons: Readonly<Record<string, string>>;
}

/** Most recently run first (folder mtime, then id). */
function newestFirst(a: HostRelease, b: HostRelease): number {
  return b.mtime - a.mtime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The release a rollback from `current` returns to: the most recently run confirmed, not bad, other release. */
export function previousGoodRelease(releases: readonly HostRelease[], current: string | undefined): string | undefined {
  return [...releases].sort(newestFirst).find((r) => r.id !== current && r.confirmed && !r.bad)?.id;
}

export function selectReleasesToRemove(input: RetentionInput): RetentionDecision {
  const reasons: Record<string, string> = {};
  const protect = (id: string | undefined, why: string): void => {
    if (id !== undefined && id !== '' && reasons[id] === undefined) reasons[id] = why;
  };
  protect(input.current, 'current');
  protect(previousGoodRelease(input.releases, input.current), 'previous good release (rollback target)');
  const waiting = input.guards.filter((g) => g.alive);
  for (const guard of waiting) {
    protect(guard.release, 'guarded (awaiting confirmation)');
    protect(guard.previous, 'a waiting guard returns to it');
  }
  if (waiting.length > 0) {
    const oldestGuard = Math.min(...waiting.map((g) => g.startedAt));
    for (const release of input.releases) {
      if (release.mtime >= oldestGuard) protect(release.id, 'younger than a waiting guard');
    }
  }
  const sorted = [...input.releases].sort(newestFirst);
  const keep = new Set(sorted.slice(0, Math.max(0, input.keep)).map((r) => r.id));
  for (const id of Object.keys(reasons)) keep.add(id);
  return {
    remove: sorted.filter((r) => !keep.has(r.id)).map((r) => r.id),
    kept: sorted.filter((r) => keep.has(r.id)).map((r) => r.id),
    protectedReasons: reasons,
  };
}

const PARTIAL_PATTERN = /^\.[A-Za-z0-9][A-Za-z0-9._-]*\.partial-[0-9a-f]+$/;

export async function removeReleases(connection: SshConnection, layout: HostLayout, ids: readonly string[], partials: readonly string[]): Promise<string[]> {
  for (const id of ids) {
    if (!RELEASE_ID_PATTERN.test(id)) throw new Error(`Release id ${JSON.stringify(id)} does not match ${RELEASE_ID_PATTERN.source}.`);
  }
  const safePartials = partials.filter((p) => PARTIAL_PATTERN.test(p));
  if (ids.length === 0 && safePartials.length === 0) return [];
  const { stdout } = await runHostScript(connection, layout, 'titan-remove-releases', [safePartials.join(' '), ...ids], { timeoutMs: 5 * 60_000 });
  return recordsOf(stdout, 'removed').flatMap((values) => values.slice(0, 1));
}
