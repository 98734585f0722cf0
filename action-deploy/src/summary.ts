/**
 * The job summary of a deploy, written for a person who reads it instead of the log: the outcome,
 * what the host is left in when it did not deploy (cancelled, failed, lock lost), the release, the mode in bold, every service with its digest and whether (and why) it changed,
 * the phases with their durations, and the verification table. No secret is ever in it: it shows
 * names, digests, ids, times and the host's own verification messages.
 */
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import type { DeployOutcome } from '@titan/deploy/deploy';
import { renderVerifySummary } from '@titan/verify/verify-stack';

export interface SummaryContext {
  readonly host: string;
  readonly appDir: string;
  readonly project: string;
}

const HEADLINE = {
  deployed: '✅ Deployed',
  'rolled-back': '↩️ Rolled back',
  failed: '❌ Deploy failed',
  cancelled: '⏹️ Deploy cancelled',
} as const;

export function deploySummary(outcome: DeployOutcome, context: SummaryContext): JobSummary {
  const summary = new JobSummary();
  summary.heading(`${HEADLINE[outcome.result]}: release ${outcome.releaseId} on ${context.host}`, 2);
  summary.markdown(`Mode: **${outcome.mode}**`);
  summary.facts([
    ['result', outcome.result],
    ...(outcome.hostStatus !== undefined ? [['host now', outcome.hostStatus] as const] : []),
    ...(outcome.stoppedIn !== undefined ? [[outcome.result === 'cancelled' ? 'cancelled during' : 'stopped in', outcome.stoppedIn] as const] : []),
    ['release', outcome.releaseId],
    ['previous release', outcome.previousReleaseId ?? '(none: first release on this host)'],
    ['host', context.host],
    ['app dir', context.appDir],
    ['project', context.project],
    ['bundle', outcome.reusedRelease ? 'already on the host, verified again in place' : 'uploaded and verified on the host'],
    ['migrations', migrationsLine(outcome)],
    ['duration', formatSeconds(outcome.durationMs)],
    ...(outcome.recovered !== undefined ? [['recovered', `reverted ${outcome.recovered}, left unconfirmed by an earlier deploy`] as const] : []),
    ...(outcome.removedReleases.length > 0 ? [['removed releases', outcome.removedReleases.join(', ')] as const] : []),
    ...(outcome.hostChanged ? [] : [['host state', 'unchanged: the deploy was refused before it changed anything'] as const]),
  ]);
  if (outcome.error !== undefined) {
    summary.heading('What went wrong', 3);
    summary.text(outcome.error.message.split('\n')[0] ?? '');
    if (outcome.error.message.includes('\n')) summary.details('full message', outcome.error.message);
  }

  if (outcome.plan !== undefined) {
    summary.heading('Services', 3);
    const changed = outcome.plan.services.filter((s) => s.reasons.length > 0).length;
    summary.text(
      outcome.previousReleaseId === undefined
        ? `First release on this host: all ${outcome.plan.services.length} services are created.`
        : `${changed} of ${outcome.plan.services.length} services change; the others keep their containers.`,
    );
    summary.table(
      ['service', 'digest', 'changed', 'why', 'previous digest'],
      outcome.plan.services.map((s) => [
        s.service,
        shortDigest(s.image),
        s.reasons.length > 0 ? 'yes' : 'no',
        s.reasons.join(', '),
        s.previousImage === undefined ? '–' : s.previousImage === s.image ? 'same' : shortDigest(s.previousImage),
      ]),
    );
  }

  summary.heading('Timeline', 3);
  summary.timeline(outcome.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));

  if (outcome.verification !== undefined) {
    summary.heading(`Verification of ${outcome.releaseId}`, 3);
    summary.markdown(renderVerifySummary(outcome.verification));
  }
  if (outcome.rollbackVerification !== undefined) {
    summary.heading(`Verification of ${outcome.rollbackVerification.releaseId} after the rollback`, 3);
    summary.markdown(renderVerifySummary(outcome.rollbackVerification));
  }
  return summary;
}

function migrationsLine(outcome: DeployOutcome): string {
  const m = outcome.migrations;
  const applied = m.applied.length > 0 ? `applied ${m.applied.join(', ')}` : 'none applied';
  const failed = m.pending.filter((f) => !m.applied.includes(f));
  return `${m.alreadyApplied} already applied; ${applied}${failed.length > 0 && outcome.result !== 'deployed' ? `; not applied: ${failed.join(', ')}` : ''}`;
}

export function shortDigest(reference: string): string {
  const at = reference.indexOf('@sha256:');
  if (at < 0) return reference === '' ? '–' : reference;
  return `${reference.slice(reference.lastIndexOf('/', at) + 1, at)}@sha256:${reference.slice(at + 8, at + 8 + 12)}`;
}
