/**
 * The job summary of a `target: swarm` deploy: the outcome, what the swarm is left in when it did
 * not deploy, the release, the mode in bold, every service of the stack with the digest it runs and
 * its tasks running and healthy (and, after a failure, the same of the release it returned to),
 * and the phases with their durations. Names, digests, ids and the swarm's own errors only.
 */
import { formatSeconds, JobSummary } from '@titan/action-kit/job-summary';
import type { ServiceConvergence } from '@titan/swarm/convergence';
import type { SwarmDeployOutcome } from '@titan/swarm/swarm-deploy';
import { shortDigest } from './summary.js';

const HEADLINE = {
  deployed: '✅ Deployed to the swarm',
  'rolled-back': '↩️ Rolled back on the swarm',
  failed: '❌ Swarm deploy failed',
  cancelled: '⏹️ Swarm deploy cancelled',
} as const;

export function swarmDeploySummary(outcome: SwarmDeployOutcome, context: { host: string; appDir: string }): JobSummary {
  const summary = new JobSummary();
  summary.heading(`${HEADLINE[outcome.result]}: release ${outcome.releaseId} as stack ${outcome.stack} on ${context.host}`, 2);
  summary.markdown(`Mode: **${outcome.mode}**`);
  summary.facts([
    ['result', outcome.result],
    ['target', 'swarm (docker stack deploy, digests pinned, through the manager)'],
    ...(outcome.hostStatus !== undefined ? [['swarm now', outcome.hostStatus] as const] : []),
    ...(outcome.stoppedIn !== undefined ? [['stopped in', outcome.stoppedIn] as const] : []),
    ['release', outcome.releaseId],
    ['previous release', outcome.previousReleaseId ?? '(none: first release on this host)'],
    ['stack', outcome.stack],
    ['manager', context.host],
    ['app dir', context.appDir],
    ['bundle', outcome.reusedRelease ? 'already on the host, verified again in place' : 'uploaded and verified on the host'],
    ['duration', formatSeconds(outcome.durationMs)],
    ...(outcome.hostChanged ? [] : [['host state', 'unchanged: the deploy was refused before it changed anything'] as const]),
  ]);
  if (outcome.error !== undefined) {
    summary.heading('What went wrong', 3);
    summary.text(outcome.error.message.split('\n')[0] ?? '');
    if (outcome.error.message.includes('\n')) summary.details('full message', outcome.error.message);
  }
  if (outcome.services.length > 0) {
    summary.heading(`Services of ${outcome.releaseId}`, 3);
    servicesTable(summary, outcome.services);
  }
  if (outcome.rollbackServices.length > 0) {
    summary.heading(`Services after the return to ${outcome.previousReleaseId ?? 'the previous release'}`, 3);
    servicesTable(summary, outcome.rollbackServices);
  }
  summary.heading('Timeline', 3);
  summary.timeline(outcome.phases.map((p) => ({ name: p.name, startedAtMs: p.startedAtMs, durationMs: p.durationMs, outcome: p.outcome })));
  return summary;
}

function servicesTable(summary: JobSummary, services: readonly ServiceConvergence[]): void {
  summary.table(
    ['service', 'digest', 'tasks running and healthy', 'state'],
    services.map((s) => [s.service, shortDigest(s.image), `${s.running}/${s.wanted}`, s.waiting === undefined ? 'converged' : s.waiting]),
  );
}
