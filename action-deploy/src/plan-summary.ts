/**
 * The job summary of `plan: true`: what a deploy of this bundle would do on the host, changed
 * nothing. Names, digests, ids and sentences only (no secret is in a plan).
 */
import { JobSummary } from '@titan/action-kit/job-summary';
import type { DeployPlan } from '@titan/deploy/deploy-plan';
import { shortDigest } from './summary.js';

export function planSummary(plan: DeployPlan, context: { appDir: string; project: string }): JobSummary {
  const summary = new JobSummary();
  const refused = plan.refusals.length > 0;
  summary.heading(`${refused ? '⛔ Plan: the deploy would be refused' : '📋 Plan'}: release ${plan.releaseId} on ${plan.host}`, 2);
  summary.markdown(`Nothing was changed on the host. Mode: **${plan.mode.from ?? 'none recorded'} → ${plan.mode.to}**`);
  if (refused) {
    summary.heading('Why a deploy would be refused', 3);
    summary.table(['reason'], plan.refusals.map((r) => [r]));
  }
  const m = plan.migrations;
  summary.facts([
    ['running release', plan.previousReleaseId ?? '(none: first release on this host)'],
    ['app dir', context.appDir],
    ['project', context.project],
    ...(plan.halt !== null ? [['halted', plan.halt] as const] : []),
    ...(plan.recover.length > 0 ? [['left unconfirmed', `${plan.recover.join(', ')}: a deploy runs its return plan first`] as const] : []),
    ['bundle', plan.bundle === 'upload' ? 'uploaded, then verified on the host' : 'already on the host, verified again in place'],
    ['images to pull', plan.images.pull.length === 0 ? `none (all ${plan.images.total} on the host)` : `${plan.images.pull.length} of ${plan.images.total}`],
    ['stopped, in order', plan.stop.map((g) => g.join(', ')).join(' → ') || 'nothing'],
    ...(plan.recreatedAtStart.length > 0 ? [['recreated at the start', `${plan.recreatedAtStart.join(', ')} (no migration pending: Compose stops and recreates them after the switch)`] as const] : []),
    ['migrations pending', `${m.pending.join(', ') || 'none'}${m.alreadyApplied === null ? '' : ` (${m.alreadyApplied} already applied)`}${m.note === null ? '' : `: ${m.note}`}`],
    ['switch', plan.switch ? `current → releases/${plan.releaseId}` : 'none (already current)'],
    ['compose', plan.compose.up ? `up -d --remove-orphans: ${plan.compose.why}` : `nothing to do: ${plan.compose.why}`],
    ...(plan.restart.length > 0 ? [['restarted', plan.restart.join(', ')] as const] : []),
    ['retention removes', plan.retention.remove.join(', ') || 'nothing'],
  ]);
  if (plan.images.pull.length > 0) {
    summary.heading('Images to pull', 3);
    summary.table(['image'], plan.images.pull.map((i) => [i]));
  }
  summary.heading('Services', 3);
  const changed = plan.changed.length;
  summary.text(`${changed} of ${plan.services.length} services change; the others keep their containers.`);
  summary.table(
    ['service', 'digest', 'changes', 'why', 'running digest'],
    plan.services.map((s) => [
      s.service,
      shortDigest(s.image),
      s.change.length > 0 ? 'yes' : 'no',
      s.change.join(', '),
      s.previousImage === null ? '–' : s.previousImage === s.image ? 'same' : shortDigest(s.previousImage),
    ]),
  );
  return summary;
}
