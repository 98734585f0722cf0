import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backupTime, BackupLayout, newBackupId, prefixProblem } from '../src/backup-layout.js';
import { planRetention, type BackupEntry } from '../src/retention.js';

const policy = { daily: 7, weekly: 4, monthly: 6, incompleteGraceHours: 24 };

/** One backup a night at 02:00 UTC for `days` days up to `end`, ids as the backup makes them. */
function nightly(days: number, end: Date): BackupEntry[] {
  return Array.from({ length: days }, (_, i) => {
    const time = new Date(end.getTime() - i * 86_400_000);
    return { id: newBackupId(time), complete: true };
  });
}

describe('planRetention', () => {
  const now = new Date('2026-12-01T03:00:00Z');

  it('keeps 7 days, 4 weeks, 6 months of a year of nightly backups, and removes the rest', () => {
    const entries = nightly(365, new Date('2026-12-01T02:00:00Z'));
    const decisions = planRetention(entries, policy, now);
    const kept = decisions.filter((d) => d.keep);
    const days = kept.map((d) => backupTime(d.id)?.toISOString().slice(0, 10));
    expect(days.slice(0, 7)).toEqual(['2026-12-01', '2026-11-30', '2026-11-29', '2026-11-28', '2026-11-27', '2026-11-26', '2026-11-25']);
    // Weeks 2026-W49 (Mon 30 Nov), W48, W47, W46: the newest of each; months Dec back to Jul.
    expect(kept.filter((d) => d.reasons.some((r) => r.startsWith('weekly'))).map((d) => d.reasons.find((r) => r.startsWith('weekly')))).toEqual([
      'weekly 2026-W49',
      'weekly 2026-W48',
      'weekly 2026-W47',
      'weekly 2026-W46',
    ]);
    expect(kept.filter((d) => d.reasons.some((r) => r.startsWith('monthly'))).map((d) => d.reasons.find((r) => r.startsWith('monthly')))).toEqual([
      'monthly 2026-12',
      'monthly 2026-11',
      'monthly 2026-10',
      'monthly 2026-09',
      'monthly 2026-08',
      'monthly 2026-07',
    ]);
    expect(kept[0]?.reasons).toContain('the newest complete backup');
    // 7 daily (1 Dec to 25 Nov); weekly adds 22 Nov and 15 Nov (W49 and W48 are daily ones);
    // monthly adds 31 Oct, 30 Sep, 31 Aug, 31 Jul (December and November are daily ones).
    expect(kept.length).toBe(7 + 2 + 4);
    expect(decisions.filter((d) => !d.keep).every((d) => d.reasons[0]?.startsWith('beyond retention'))).toBe(true);
  });

  it('never removes the newest complete backup, even with every count at zero', () => {
    const entries = nightly(5, new Date('2026-12-01T02:00:00Z'));
    const decisions = planRetention(entries, { daily: 0, weekly: 0, monthly: 0, incompleteGraceHours: 0 }, now);
    expect(decisions.filter((d) => d.keep).map((d) => d.id)).toEqual([entries[0]?.id]);
  });

  it('does not count incomplete backups; removes old ones, leaves one that may be in progress', () => {
    const complete = nightly(3, new Date('2026-11-29T02:00:00Z'));
    const inProgress = { id: newBackupId(new Date('2026-12-01T02:00:00Z')), complete: false };
    const failedOld = { id: newBackupId(new Date('2026-11-20T02:00:00Z')), complete: false };
    const decisions = planRetention([...complete, inProgress, failedOld], { daily: 1, weekly: 0, monthly: 0, incompleteGraceHours: 24 }, now);
    const byId = new Map(decisions.map((d) => [d.id, d]));
    expect(byId.get(inProgress.id)?.keep).toBe(true);
    expect(byId.get(failedOld.id)?.keep).toBe(false);
    expect(byId.get(failedOld.id)?.reasons[0]).toMatch(/incomplete \(no manifest\) and older than 24 h/);
    // The newest COMPLETE one is kept as newest: the incomplete one newer than it does not count.
    expect(byId.get(complete[0]?.id ?? '')?.reasons).toContain('the newest complete backup');
    expect(decisions.filter((d) => d.complete && d.keep).length).toBe(1);
  });

  it('properties: the newest complete is kept; incomplete entries never change what happens to complete ones', () => {
    const start = new Date('2024-01-01T00:00:00Z').getTime();
    const entry = fc.record({ offsetHours: fc.integer({ min: 0, max: 24 * 700 }), complete: fc.boolean() });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), fc.nat({ max: 10 }), fc.nat({ max: 6 }), fc.nat({ max: 12 }), (raw, daily, weekly, monthly) => {
        const entries = raw.map((r) => ({ id: newBackupId(new Date(start + r.offsetHours * 3600_000)), complete: r.complete }));
        const rules = { daily, weekly, monthly, incompleteGraceHours: 24 };
        const decisions = planRetention(entries, rules, new Date(start + 701 * 24 * 3600_000));
        const complete = decisions.filter((d) => d.complete);
        if (complete.length > 0) expect(complete[0]?.keep).toBe(true);
        expect(complete.filter((d) => d.keep).length).toBeLessThanOrEqual(1 + daily + weekly + monthly);
        const alone = planRetention(entries.filter((e) => e.complete), rules, new Date(start + 701 * 24 * 3600_000));
        expect(alone.map((d) => [d.id, d.keep])).toEqual(complete.map((d) => [d.id, d.keep]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('BackupLayout', () => {
  it('keys below the prefix; ids read back; bad prefixes refused', () => {
    const layout = new BackupLayout('titan/production');
    const id = newBackupId(new Date('2026-12-01T02:00:05Z'));
    expect(id).toMatch(/^20261201T020005Z-[0-9a-f]{6}$/);
    expect(backupTime(id)?.toISOString()).toBe('2026-12-01T02:00:05.000Z');
    expect(layout.objectKey(id, 'postgres', 'titan', true)).toBe(`titan/production/${id}/postgres/titan.dump.age`);
    expect(layout.manifestKey(id)).toBe(`titan/production/${id}/manifest.json`);
    expect(layout.idOf(`titan/production/${id}/redis/dump.rdb.age`)).toBe(id);
    expect(layout.idOf(`titan/production-old/${id}/manifest.json`)).toBeUndefined();
    expect(layout.idOf('titan/production/notes.txt')).toBeUndefined();
    for (const bad of ['', '/titan', 'titan/', 'a//b', 'a/../b', 'a b']) expect(prefixProblem(bad)).toBeDefined();
    expect(() => layout.objectKey(id, 'jetstream', '../x', true)).toThrow();
  });
});
