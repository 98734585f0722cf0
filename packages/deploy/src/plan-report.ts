/**
 * A deploy plan in sentences, one a line, for the log: the verdict first, then each thing a deploy
 * would do in the order it would do it.
 */
import type { DeployPlan } from './deploy-plan.js';

export function planLines(plan: DeployPlan): string[] {
  const lines: string[] = [];
  const verdict =
    plan.refusals.length === 0
      ? `A deploy of release ${plan.releaseId} to ${plan.host} would go ahead. Nothing was changed on the host.`
      : `A deploy of release ${plan.releaseId} to ${plan.host} would be REFUSED (${plan.refusals.length} reason(s)). Nothing was changed on the host.`;
  lines.push(verdict);
  for (const refusal of plan.refusals) lines.push(`  refused: ${refusal}`);
  lines.push(`Running release: ${plan.previousReleaseId ?? 'none (first release on this host)'}.`);
  if (plan.halt !== null) lines.push(`The host is halted ${plan.halt}.`);
  if (plan.recover.length > 0) {
    lines.push(`Left unconfirmed by a deploy that is gone: ${plan.recover.join(', ')}; a deploy runs its return plan first (this plan is of the host as it is now).`);
  }
  lines.push(`Mode: ${plan.mode.from ?? 'none recorded'} -> ${plan.mode.to}.`);
  lines.push(plan.bundle === 'upload' ? 'Bundle: uploaded, then verified on the host.' : 'Bundle: already on the host, verified again in place.');
  lines.push(
    plan.images.pull.length === 0
      ? `Images: all ${plan.images.total} already on the host by digest; nothing to pull.`
      : `Images to pull (${plan.images.pull.length} of ${plan.images.total}): ${plan.images.pull.join(', ')}.`,
  );
  for (const s of plan.services.filter((x) => x.change.length > 0)) lines.push(`Changes: ${s.service} (${s.change.join(', ')}).`);
  if (plan.changed.length === 0) lines.push('No service changes.');
  lines.push(`Stopped before the migrations, in this order: ${plan.stop.map((g) => g.join(', ')).join(' -> ') || 'nothing'}.`);
  if (plan.recreatedAtStart.length > 0) lines.push(`Kept running until Compose recreates them at the start (no migration pending): ${plan.recreatedAtStart.join(', ')}.`);
  const m = plan.migrations;
  lines.push(
    `Migrations: ${m.alreadyApplied === null ? 'history not read' : `${m.alreadyApplied} already applied`}; ` +
      `pending: ${m.pending.join(', ') || 'none'}${m.note === null ? '' : ` (${m.note})`}.`,
  );
  lines.push(plan.switch ? `Switch: current -> releases/${plan.releaseId}.` : `Switch: none (release ${plan.releaseId} is already current).`);
  lines.push(plan.compose.up ? `Start: docker compose up -d --remove-orphans (${plan.compose.why}).` : `Start: nothing for Compose to do (${plan.compose.why}); verification runs.`);
  if (plan.restart.length > 0) lines.push(`Restarted after the switch (mounted files changed): ${plan.restart.join(', ')}.`);
  lines.push(`Retention: keeps ${plan.retention.keep.join(', ')}; removes ${plan.retention.remove.join(', ') || 'nothing'}.`);
  return lines;
}
