import { describe, expect, it } from 'vitest';
import { parseHostState } from '@titan/host/host-state';
import { formatRecord } from '@titan/host/host-record';
import type { DeployJournalEntry } from '@titan/host/journal';
import { previousGoodRelease } from '@titan/host/retention';
import { RollbackTargetError, rollbackCandidates } from '@titan/rollback/rollback-target';

// What scripts/host-state.sh prints for a host with five releases (id, folder mtime, bad, confirmed).
const A = '20261120T080000Z-aaaaaaaaaaaa';
const B = '20261121T080000Z-bbbbbbbbbbbb';
const C = '20261122T080000Z-cccccccccccc';
const D = '20261123T080000Z-dddddddddddd';
const E = '20261123T090000Z-eeeeeeeeeeee';
const state = parseHostState(
  [
    'now 1795000000',
    `current releases/${D}`,
    `release ${A} 1794000100 0 1`,
    `release ${B} 1794000200 0 1`,
    `release ${C} 1794000300 1 1`,
    `release ${D} 1794000400 0 1`,
    `release ${E} 1794000500 0 0`,
    'trust 1',
    'env 600 deploy',
  ]
    .map((line) => formatRecord(...(line.split(' ') as [string, ...string[]])))
    .join('\n'),
);

function deployed(release: string, previous: string | null, result: DeployJournalEntry['result'] = 'deployed'): DeployJournalEntry {
  return { time: '2026-11-23T08:00:00.000Z', action: 'deploy', result, release, previous, mode: 'DISARMED', actor: 'a', runUrl: '', phases: {} };
}

const journal = [deployed(A, null), deployed(B, A), deployed(C, B), deployed(D, C), deployed(E, D, 'rolled-back')] as unknown as Record<string, unknown>[];

describe('the rollback target', () => {
  it('last-good: confirmed, not bad, not current, most recently run first; the first is what retention keeps', () => {
    const choice = rollbackCandidates(state, journal, { kind: 'last-good' });
    expect(choice.candidates).toEqual([B, A]);
    expect(choice.candidates[0]).toBe(previousGoodRelease(state.releases, state.current));
    expect(choice.warnings).toEqual([]);
  });

  it('previous: the release that ran before current, from the journal (a failed deploy does not count)', () => {
    expect(rollbackCandidates(state, journal, { kind: 'previous' }).candidates).toEqual([C]);
    expect(rollbackCandidates(state, journal, { kind: 'previous' }).warnings).toEqual([`Release ${C} is marked bad on the host; returning to it as asked.`]);
    const afterRollback = [...journal, { action: 'rollback', result: 'rolled-back', release: D, previous: B }];
    expect(rollbackCandidates(state, afterRollback, { kind: 'previous' }).candidates).toEqual([B]);
  });

  it('a named release: itself, with a warning when it was never confirmed', () => {
    expect(rollbackCandidates(state, journal, { kind: 'release', id: A })).toEqual({ candidates: [A], warnings: [] });
    expect(rollbackCandidates(state, journal, { kind: 'release', id: E }).warnings[0]).toMatch(/never confirmed/);
  });

  it('fails clearly, listing the releases, when there is nothing to return to', () => {
    const missing = (): unknown => rollbackCandidates(state, journal, { kind: 'release', id: '20991231T000000Z-ffffffffffff' });
    expect(missing).toThrow(RollbackTargetError);
    expect(missing).toThrow(
      `Release 20991231T000000Z-ffffffffffff is not on the host. Available releases: ${E} (unconfirmed), ${D} (current, confirmed), ${C} (confirmed, bad), ${B} (confirmed), ${A} (confirmed).`,
    );
    expect(() => rollbackCandidates(state, journal, { kind: 'release', id: D })).toThrow(/already current.*mode: restart/);
    expect(() => rollbackCandidates(state, [], { kind: 'previous' })).toThrow(/journal records no release that ran before/);
    const lonely = parseHostState(`${formatRecord('current', `releases/${A}`)}\n${formatRecord('release', A, '1', '0', '1')}\n`);
    expect(() => rollbackCandidates(lonely, [], { kind: 'last-good' })).toThrow(/no good release to return to.*Available releases: .*\(current, confirmed\)/);
  });
});
