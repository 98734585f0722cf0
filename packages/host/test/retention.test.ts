import { describe, expect, it } from 'vitest';
import type { GuardRecord, HostRelease } from '@titan/host/host-state';
import { previousGoodRelease, selectReleasesToRemove } from '@titan/host/retention';

function release(id: string, mtime: number, extra: Partial<HostRelease> = {}): HostRelease {
  return { id, mtime, bad: false, confirmed: true, ...extra };
}

function guard(release: string, previous: string, startedAt: number, alive = true): GuardRecord {
  return { release, previous, pid: 1, startedAt, deadline: startedAt + 300, alive };
}

describe('selectReleasesToRemove', () => {
  const releases = [release('r1', 100), release('r2', 200), release('r3', 300), release('r4', 400), release('r5', 500), release('r6', 600)];

  it('keeps the newest keep-releases and removes the rest', () => {
    const decision = selectReleasesToRemove({ releases, current: 'r6', keep: 3, guards: [] });
    expect(decision.kept).toEqual(['r6', 'r5', 'r4']);
    expect(decision.remove).toEqual(['r3', 'r2', 'r1']);
  });

  it('never removes current or the previous good release, whatever keep says', () => {
    const decision = selectReleasesToRemove({
      releases: [...releases.slice(0, 5), release('r6', 600, { bad: true, confirmed: false })],
      current: 'r2',
      keep: 1,
      guards: [],
    });
    expect(decision.kept).toContain('r2');
    expect(decision.kept).toContain('r5');
    expect(decision.protectedReasons['r2']).toBe('current');
    expect(decision.protectedReasons['r5']).toBe('previous good release (rollback target)');
    expect(decision.remove).toEqual(['r4', 'r3', 'r1']);
  });

  it('a bad or unconfirmed release is never the previous good one', () => {
    expect(previousGoodRelease([release('a', 1), release('b', 2, { bad: true }), release('c', 3, { confirmed: false }), release('d', 4)], 'd')).toBe('a');
  });

  it('keeps what a waiting guard may return to, what it guards, and every release younger than it', () => {
    const decision = selectReleasesToRemove({ releases, current: 'r6', keep: 1, guards: [guard('r4', 'r1', 350)] });
    expect(decision.kept.sort()).toEqual(['r1', 'r4', 'r5', 'r6']);
    expect(decision.remove.sort()).toEqual(['r2', 'r3']);
  });

  it('ignores guards that are not running any more', () => {
    const decision = selectReleasesToRemove({ releases, current: 'r6', keep: 2, guards: [guard('r2', 'r1', 150, false)] });
    expect(decision.remove).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(decision.kept).toEqual(['r6', 'r5']);
  });
});
