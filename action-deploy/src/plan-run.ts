/**
 * `plan: true`: connect, take the deploy lock, read the host and say what a deploy of the bundle
 * would do (log, job summary, the `plan` output as JSON), changing nothing. A plan that finds the
 * deploy would be refused fails the step with every reason, after the summary and outputs are written.
 */
import * as core from '@actions/core';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { planDeploy } from '@titan/deploy/deploy-plan';
import type { LocalBundle } from '@titan/release/local-bundle';
import { planLines } from '@titan/deploy/plan-report';
import type { Logger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { planSummary } from './plan-summary.js';
import { deployRequestOf, type DeploySettings } from './settings.js';

export async function runPlan(settings: DeploySettings, bundle: LocalBundle, logger: Logger, signal: AbortSignal | undefined): Promise<void> {
  let connection: SshConnection | undefined;
  try {
    connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    const open = connection;
    const plan = await logger.group('Plan (read-only: nothing on the host changes)', () =>
      planDeploy(open, { ...deployRequestOf(settings), bundle, logger, ...(signal !== undefined ? { signal } : {}) }),
    );
    for (const line of planLines(plan)) logger.info(line);
    core.setOutput('plan', JSON.stringify(plan));
    core.setOutput('previous-release-id', plan.previousReleaseId ?? '');
    core.setOutput('result', plan.refusals.length === 0 ? 'planned' : 'refused');
    await planSummary(plan, { appDir: settings.appDir, project: settings.project }).write();
    if (plan.refusals.length > 0) {
      throw new Error(`A deploy of release ${plan.releaseId} to ${settings.host} would be refused: ${plan.refusals.join(' ')}`);
    }
  } finally {
    await connection?.close();
  }
}
