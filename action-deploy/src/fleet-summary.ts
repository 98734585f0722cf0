/**
 * The job summary of a rolling deploy: the outcome, the policy, a row per host (host, address,
 * batch, release before and after, result, duration, what happened), and what went wrong. No secret
 * is in it: names, addresses, ids, times and the hosts' own messages.
 */
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import type { FleetHostResult, FleetOutcome, OnFailure } from '@titan/fleet/rolling-deploy';

const HEADLINE = { deployed: '✅ Deployed', failed: '❌ Rolling deploy failed', cancelled: '⏹️ Rolling deploy cancelled' } as const;

const RESULT: Record<FleetHostResult, string> = {
  deployed: '✅ deployed',
  'rolled-back': '↩️ failed, rolled back by its deploy',
  failed: '❌ failed',
  cancelled: '⏹️ cancelled',
  reverted: '↩️ returned to previous',
  'revert-failed': '❌ return failed',
  left: '⚠️ left on new release',
  'not-started': '⏸️ not started',
  unreachable: '❌ unreachable',
  'host-key-refused': '⛔ host key refused',
};

export function fleetSummary(outcome: FleetOutcome, context: { appDir: string; project: string; batchSize: number; onFailure: OnFailure }): JobSummary {
  const summary = new JobSummary();
  const deployed = outcome.rows.filter((r) => r.result === 'deployed').length;
  summary.heading(`${HEADLINE[outcome.result]}: release ${outcome.releaseId} on ${deployed} of ${outcome.rows.length} hosts`, 2);
  summary.facts([
    ['result', outcome.result],
    ['release', outcome.releaseId],
    ['hosts', String(outcome.rows.length)],
    ['batches', `${outcome.batches} (the first host alone, then ${context.batchSize} at a time)`],
    ['on failure', context.onFailure === 'rollback' ? 'rollback: switched hosts return to their previous release' : 'leave: switched hosts stay on the new release'],
    ['app dir', outcome.rows.some((r) => r.host.appDir !== undefined) ? `${context.appDir}, or the host's own (its app-dir)` : context.appDir],
    ['project', outcome.rows.some((r) => r.host.project !== undefined) ? `${context.project}, or the host's own (its project)` : context.project],
    ['SSH connections', `at most ${outcome.peakConnections} at once, ${outcome.connectionsOpened} in all${outcome.bastionConnections === undefined ? '' : `, through ${outcome.bastionConnections} connection(s) to the bastion`}`],
    ['duration', formatSeconds(outcome.durationMs)],
  ]);
  if (outcome.error !== undefined) {
    summary.heading('What went wrong', 3);
    summary.text(outcome.error.message.split('\n')[0] ?? '');
  }
  summary.heading('Hosts', 3);
  summary.table(
    ['host', 'address', 'batch', 'release before', 'release after', 'result', 'duration', 'details'],
    outcome.rows.map((r) => [
      r.host.name,
      `${r.host.address}:${r.host.port}`,
      String(r.batch),
      r.releaseBefore ?? '–',
      r.releaseAfter ?? (r.result === 'not-started' || r.result === 'unreachable' || r.result === 'host-key-refused' ? 'unchanged' : '?'),
      RESULT[r.result],
      r.durationMs > 0 ? formatSeconds(r.durationMs) : '–',
      r.message ?? '',
    ]),
  );
  return summary;
}
