/**
 * Which backups under a prefix to keep: grandfather-father-son over COMPLETE backups only (those
 * whose manifest is there), in UTC:
 *
 *  - the newest complete backup, always, whatever the counts say;
 *  - `daily`: the newest backup of each of the last N days that have one;
 *  - `weekly`: the newest of each of the last N ISO weeks; `monthly`: of each of the last N months.
 *
 * An incomplete backup (no manifest: it failed, or is being taken) is never counted. It is removed
 * once it is older than the grace period AND older than the newest complete backup; a younger one
 * may still be in progress and is left alone. Pure: the caller lists, this decides, the caller
 * deletes (manifest first, so a half-deleted backup is never mistaken for a complete one).
 */
import { backupTime } from './backup-layout.js';

export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  /** Hours an incomplete backup is left alone (it may be in progress). */
  readonly incompleteGraceHours: number;
}

export interface BackupEntry {
  readonly id: string;
  readonly complete: boolean;
}

export interface RetentionDecision {
  readonly id: string;
  readonly complete: boolean;
  readonly keep: boolean;
  /** Why it is kept (every rule that keeps it) or removed. */
  readonly reasons: readonly string[];
}

export function planRetention(entries: readonly BackupEntry[], policy: RetentionPolicy, now: Date = new Date()): RetentionDecision[] {
  const dated = entries
    .map((e) => ({ ...e, time: backupTime(e.id) }))
    .filter((e): e is BackupEntry & { time: Date } => e.time !== undefined)
    .sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  const complete = dated.filter((e) => e.complete);
  const reasons = new Map<string, string[]>();
  const keep = (id: string, reason: string): void => {
    const list = reasons.get(id) ?? [];
    list.push(reason);
    reasons.set(id, list);
  };

  const newest = complete[0];
  if (newest !== undefined) keep(newest.id, 'the newest complete backup');
  const rules: readonly [string, number, (d: Date) => string][] = [
    ['daily', policy.daily, dayOf],
    ['weekly', policy.weekly, isoWeekOf],
    ['monthly', policy.monthly, monthOf],
  ];
  for (const [rule, limit, bucketOf] of rules) {
    const seen = new Set<string>();
    for (const entry of complete) {
      if (seen.size >= limit) break;
      const bucket = bucketOf(entry.time);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep(entry.id, `${rule} ${bucket}`);
    }
  }

  const graceMs = policy.incompleteGraceHours * 3600 * 1000;
  const newestCompleteTime = newest?.time.getTime() ?? Number.NEGATIVE_INFINITY;
  return dated.map((entry): RetentionDecision => {
    if (entry.complete) {
      const kept = reasons.get(entry.id);
      return kept !== undefined
        ? { id: entry.id, complete: true, keep: true, reasons: kept }
        : { id: entry.id, complete: true, keep: false, reasons: [`beyond retention (${policy.daily} daily, ${policy.weekly} weekly, ${policy.monthly} monthly)`] };
    }
    const ageMs = now.getTime() - entry.time.getTime();
    if (ageMs < graceMs || entry.time.getTime() > newestCompleteTime) {
      return { id: entry.id, complete: false, keep: true, reasons: ['incomplete (no manifest), perhaps still being taken: not counted, left alone'] };
    }
    return { id: entry.id, complete: false, keep: false, reasons: [`incomplete (no manifest) and older than ${policy.incompleteGraceHours} h and the newest complete backup`] };
  });
}

function dayOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function monthOf(d: Date): string {
  return d.toISOString().slice(0, 7);
}

/** ISO 8601 week, `2026-W48`. */
function isoWeekOf(d: Date): string {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
