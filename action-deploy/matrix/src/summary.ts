import { JobSummary } from '@titan/action-kit/job-summary';
import type { BuildPlan } from '@titan/matrix/build-plan';
import type { RecordedDigest } from '@titan/matrix/record-digests';
import type { RiskAssessment } from '@titan/matrix/risk';

/** The plan as a person reads it: each image built or reused, its key, its tags; then the risk. */
export function planSummary(plan: BuildPlan, risk: RiskAssessment, facts: { cache: string; sha: string; ref: string }): JobSummary {
  const built = plan.images.filter((i) => i.outcome === 'build').length;
  const summary = new JobSummary()
    .heading('Build matrix')
    .facts([
      ['commit', facts.sha],
      ['ref', facts.ref],
      ['registry', plan.registry],
      ['tags', plan.tags.join(', ')],
      ['digest cache', facts.cache],
      ['images', `${built} to build, ${plan.images.length - built} reused`],
    ])
    .table(
      ['service', 'outcome', 'digest', 'build key', 'tags'],
      plan.images.map((i) => [
        i.service,
        i.outcome === 'build' ? 'build' : 'reused',
        i.digest ?? '',
        i.key.slice(0, 12),
        i.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)).join(', '),
      ]),
    );
  if (!plan.hasBuilds) summary.text('Nothing to build: every image is reused by digest. Jobs that take this matrix must be skipped (if: has-builds == true).');
  return summary
    .heading(`Risk: ${risk.level}`, 3)
    .table(['reason'], risk.reasons.map((r) => [r]));
}

export function recordSummary(recorded: readonly RecordedDigest[], cache: string): JobSummary {
  return new JobSummary()
    .heading('Build digests recorded')
    .facts([['digest cache', cache]])
    .table(
      ['service', 'digest', 'build key'],
      recorded.map((r) => [r.service, r.digest, r.key.slice(0, 12)]),
    );
}
