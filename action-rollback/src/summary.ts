/**
 * The job summary of a rollback, for a person who reads it instead of the log: what was halted and
 * whether the halt responder acknowledged it, what stopped in which order and how long each group took,
 * which releases were refused and why, what runs now, the timeline and the verification table.
 * Names, ids, digests, times and the operator's reason only: never a secret.
 */
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import type { RollbackOutcome } from '@titan/rollback/rollback';
import { renderVerifySummary } from '@titan/verify/verify-stack';

export interface SummaryContext {
  readonly host: string;
  readonly appDir: string;
  readonly project: string;
  readonly reason: string;
  readonly actor: string;
  readonly to: string;
}

export function rollbackSummary(outcome: RollbackOutcome, context: SummaryContext): JobSummary {
  const summary = new JobSummary();
  summary.heading(headline(outcome, context.host), 2);
  const halt = outcome.halt;
  summary.markdown(
    halt.acknowledged
      ? `HARD_HALT: **acknowledged** by ${halt.acknowledgement?.service ?? 'unknown'}`
      : `HARD_HALT: ⚠️ **NOT acknowledged** (${escape(halt.problem ?? 'no reason known')})`,
  );
  summary.facts([
    ['result', outcome.result],
    ...(outcome.hostStatus !== undefined ? [['host now', outcome.hostStatus] as const] : []),
    ['mode', outcome.mode],
    ...(outcome.mode === 'rollback' ? [['to', context.to] as const] : []),
    ['reason', context.reason],
    ['actor', context.actor],
    ['runs now', outcome.releaseAfter ?? '(no release is current)'],
    ['before', outcome.releaseBefore ?? '(no release was current)'],
    ...(outcome.markedBad !== undefined ? [['marked bad', `${outcome.markedBad} (last-good will not return to it)`] as const] : []),
    ['host', context.host],
    ['app dir', context.appDir],
    ['project', context.project],
    ...(outcome.lockWaitedMs !== undefined ? [['deploy lock', `taken after waiting ${formatSeconds(outcome.lockWaitedMs)}`] as const] : []),
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  if (outcome.error !== undefined) {
    summary.heading('What went wrong', 3);
    summary.text(outcome.error.message.split('\n')[0] ?? '');
    if (outcome.error.message.includes('\n')) summary.details('full message', outcome.error.message);
  }
  if (outcome.warnings.length > 0) {
    summary.heading('Warnings', 3);
    summary.table(['warning'], outcome.warnings.map((w) => [w]));
  }

  summary.heading('HARD_HALT', 3);
  summary.table(
    ['subject', 'nonce', 'issued at', 'acknowledged', 'took'],
    [[halt.subject, halt.nonce, halt.issuedAt, halt.acknowledged ? `yes, by ${halt.acknowledgement?.service ?? 'unknown'}` : `no: ${halt.problem ?? ''}`, formatSeconds(halt.durationMs)]],
  );

  if (outcome.refused.length > 0) {
    summary.heading('Releases refused', 3);
    summary.text('Checked on the host and refused: nothing was switched to them.');
    summary.table(['release', 'check', 'why'], outcome.refused.map((r) => [r.release, r.stage === 'verify' ? 'host verification' : r.stage === 'secrets' ? 'secret files' : 'images by digest', r.reason]));
  }

  if (outcome.stopped.length > 0 || outcome.leftRunning.length > 0) {
    summary.heading('Orderly shutdown', 3);
    summary.table(
      ['#', 'services', 'containers', 'stopped and checked in'],
      outcome.stopped.map((g, i) => [String(i + 1), g.services.join(', '), String(g.containers), formatSeconds(g.durationMs)]),
    );
    if (outcome.leftRunning.length > 0) summary.text(`Left running on purpose: ${outcome.leftRunning.join(', ')}, and the infrastructure.`);
  }

  summary.heading('Timeline', 3);
  summary.timeline(outcome.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));

  if (outcome.verification !== undefined) {
    summary.heading(`Verification of ${outcome.verification.releaseId}`, 3);
    summary.markdown(renderVerifySummary(outcome.verification));
  }
  return summary;
}

function headline(outcome: RollbackOutcome, host: string): string {
  switch (outcome.result) {
    case 'rolled-back':
      return `↩️ Rolled back to ${outcome.releaseAfter ?? ''} on ${host}`;
    case 'restarted':
      return `🔁 Restarted ${outcome.releaseAfter ?? ''} on ${host}`;
    case 'stopped':
      return `⏹️ Trading services stopped on ${host}`;
    case 'halted':
      return `🛑 HARD_HALT acknowledged on ${host}`;
    case 'cancelled':
      return `⏹️ ${outcome.mode} cancelled on ${host}`;
    default:
      return `❌ ${outcome.mode} failed on ${host}`;
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_[\]|<>]/g, '\\$&');
}
