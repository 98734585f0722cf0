/**
 * The job summary of a backup, for the person who reads it instead of the log: complete or not and
 * why, what was backed up (size before and after encryption, throughput, sha256 of what is stored),
 * the facts a restore is checked against, retention's decisions and the timeline. Names, sizes,
 * hashes and ids only: never a secret.
 */
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import type { RetentionOutcome } from '@titan/backup/backup-catalog';
import type { BackupOutcome } from '@titan/backup/backup-run';
import { formatBytes, formatRate } from '@titan/backup/stream-digest';
import type { VerifyReport } from '@titan/restore/verify-backup';

export interface SummaryContext {
  readonly host: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
}

export function backupSummary(
  outcome: BackupOutcome,
  retention: RetentionOutcome | undefined,
  retentionError: Error | undefined,
  report: VerifyReport | undefined,
  context: SummaryContext,
): JobSummary {
  const summary = new JobSummary();
  const manifest = outcome.manifest;
  summary.heading(outcome.complete ? `✅ Backup ${outcome.backupId} of ${context.host} is complete` : `❌ Backup ${outcome.backupId} of ${context.host} failed: nothing counts`, 2);
  const stored = outcome.objects.reduce((sum, o) => sum + o.size, 0);
  summary.facts([
    ['backup', outcome.backupId],
    ['complete', outcome.complete ? `yes: ${outcome.manifestKey}` : 'no (no manifest was uploaded)'],
    ['where', `${context.bucket}/${context.prefix}${outcome.backupId}/ at ${context.endpoint}`],
    ['encryption', manifest === undefined ? '' : manifest.encryption.scheme === 'age' ? `age, to ${manifest.encryption.recipients.length} recipient(s)` : 'none (stored in the clear)'],
    ['release running', manifest?.release?.id ?? '(unknown)'],
    ['stored', `${formatBytes(stored)} in ${outcome.objects.length} object(s)`],
    ['verified', report === undefined ? (outcome.complete ? 'not run (verify: off)' : 'no') : report.ok ? `yes: restored on the ${report.where === 'host' ? 'host (a throwaway database, dropped again)' : 'runner'} in ${formatSeconds(report.durationMs)}, every check matched` : `NO: ${report.problems.length} problem(s)`],
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  if (outcome.error !== undefined) {
    summary.heading('What went wrong', 3);
    summary.text(outcome.error.message.split('\n')[0] ?? '');
    if (outcome.error.message.includes('\n')) summary.details('full message', outcome.error.message);
    summary.text(
      outcome.cleanedUp.length > 0
        ? `The ${outcome.cleanedUp.length} object(s) this run had stored were removed again; nothing outside its own folder was touched.`
        : 'Nothing of this run is left in the bucket, and nothing outside its own folder was touched.',
    );
  }
  if (outcome.warnings.length > 0) {
    summary.heading('Warnings', 3);
    summary.table(['warning'], outcome.warnings.map((w) => [w]));
  }
  if (outcome.objects.length > 0) {
    summary.heading('What was backed up', 3);
    summary.table(
      ['part', 'name', 'size', 'stored', 'throughput', 'parts', 'sha256 (stored)'],
      outcome.objects.map((o) => [o.part, o.name, formatBytes(o.plainSize), formatBytes(o.size), formatRate(o.plainSize, o.durationMs), String(o.parts), o.sha256]),
    );
  }
  if (manifest?.postgres != null) {
    const pg = manifest.postgres;
    summary.details(
      `Postgres ${pg.database}: ${pg.tables.length} tables, ${pg.tables.reduce((n, t) => n + t.rows, 0)} rows (${pg.serverVersion})`,
      pg.tables.map((t) => `${t.name}\t${t.rows} rows\t${t.checksum === null ? '-' : `checksum ${t.checksum}`}`).join('\n'),
    );
  }
  if (manifest?.volumeSnapshot != null) {
    const v = manifest.volumeSnapshot;
    summary.text(
      `JetStream volume ${v.volume}: snapshot ${v.name} (${v.snapshotId}) taken, tagged ${v.tags.join(', ')}; crash-consistent at best (the stream snapshots are the consistent copy)${v.removed.length > 0 ? `; ${v.removed.length} older snapshot(s) of it removed` : ''}.`,
    );
  }
  if (manifest?.redis != null) summary.text(`Redis ${manifest.redis.version}: ${manifest.redis.keys} keys in the snapshot (LASTSAVE ${manifest.redis.lastSave}).`);
  if (manifest?.jetstream != null) {
    summary.table(
      ['stream', 'messages', 'bytes', 'sequences', 'consumers'],
      manifest.jetstream.streams.map((s) => [s.name, String(s.messages), formatBytes(s.bytes), `${s.firstSeq}–${s.lastSeq}`, String(s.consumers)]),
    );
  }
  if (report !== undefined) renderVerify(summary, report);
  if (retention !== undefined || retentionError !== undefined) {
    summary.heading(`Retention under ${context.prefix}`, 3);
    if (retentionError !== undefined) summary.text(`Retention failed: ${retentionError.message}`);
    if (retention !== undefined) {
      summary.table(
        ['backup', 'complete', 'decision', 'why'],
        retention.decisions.map((d) => [d.id, d.complete ? 'yes' : 'no', d.keep ? 'kept' : 'removed', d.reasons.join('; ')]),
      );
    }
  }
  summary.heading('Timeline', 3);
  summary.timeline(outcome.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));
  return summary;
}

function renderVerify(summary: JobSummary, report: VerifyReport): void {
  summary.heading(report.ok ? '✅ Verified: what was uploaded restores' : '❌ Verification FAILED', 3);
  if (report.problems.length > 0) summary.table(['problem'], report.problems.map((p) => [p]));
  const pg = report.postgres;
  if (pg !== null) {
    summary.table(
      ['table', 'rows at the source', 'rows restored', 'checksum'],
      pg.tables.map((t) => [t.name, String(t.expectedRows), t.rows === null ? 'missing' : String(t.rows), t.expectedChecksum === null ? '-' : t.checksum === t.expectedChecksum ? 'matches' : 'DIFFERS']),
    );
  }
  if (report.redis !== null) summary.text(`Redis: redis-check-rdb says the RDB is OK; ${report.redis.keys ?? '?'} keys (the backup recorded ${report.redis.expectedKeys}).`);
  const js = report.jetstream;
  if (js !== null) {
    summary.table(
      ['stream', 'messages at the source', 'messages restored', 'last sequence', 'consumers'],
      js.streams.map((s) => [s.name, String(s.expectedMessages), String(s.messages ?? 'missing'), String(s.lastSeq ?? '?'), String(s.consumers ?? '?')]),
    );
  }
}
