/**
 * `target: swarm`: the release `current` points at verified again on the host, then the swarm stack
 * (named after `project`) against its manifest: every service on the pinned digest, its tasks of
 * this release Running and healthy, no update running (@titan/swarm verifySwarm). The summary has a
 * row per service; `healthy` is the output.
 */
import * as core from '@actions/core';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { JobSummary } from '@titan/action-kit/job-summary';
import { HostLayout } from '@titan/host/host-layout';
import type { Logger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import { verifySwarm, type SwarmVerifyReport } from '@titan/swarm/swarm-verify';
import type { VerifySettings } from './settings.js';

export async function runSwarmVerify(settings: VerifySettings, logger: Logger): Promise<void> {
  let report: SwarmVerifyReport | undefined;
  const summary = new JobSummary();
  try {
    const connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    try {
      report = await logger.group(`Verify swarm stack ${settings.project}`, () =>
        verifySwarm(connection, { layout: new HostLayout(settings.appDir), stack: settings.project, timeoutSeconds: Math.ceil(settings.timeoutMs / 1000), timeoutInput: 'timeout', logger }),
      );
    } finally {
      await connection.close();
    }
    summary.heading(`${report.ok ? '✅ Verified' : '❌ Not verified'}: swarm stack ${report.stack} on ${settings.host}`, 2);
    summary.facts([
      ['release', report.releaseId ?? '(none current)'],
      ['target', 'swarm'],
      ...(report.problem !== undefined ? [['problem', report.problem] as const] : []),
    ]);
    if (report.services.length > 0) {
      summary.table(
        ['service', 'image', 'tasks running and healthy', 'state'],
        report.services.map((s) => [s.service, s.image, `${s.running}/${s.wanted}`, s.waiting ?? 'converged']),
      );
    }
  } catch (error: unknown) {
    summary.heading('❌ Not verified').text(error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    core.setOutput('healthy', String(report?.ok ?? false));
    await summary.write();
  }
  if (!report.ok) throw new Error(`Swarm stack ${report.stack} on ${settings.host} is not verified: ${report.problem ?? 'no reason known'}`);
  logger.info(`Swarm stack ${report.stack} runs release ${report.releaseId ?? ''}, every service converged and healthy.`);
}
