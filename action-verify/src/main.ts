import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { JobSummary } from '@titan/action-kit/job-summary';
import type { Logger } from '@titan/log/logger';
import { connectSsh } from '@titan/ssh/connect';
import { renderVerifySummary, verifyStack, type VerifyReport } from '@titan/verify/verify-stack';
import { runFleetVerify } from './fleet-verify-run.js';
import { bundleRelease, hostRelease, writeReport } from './release-to-verify.js';
import { readSettings } from './settings.js';
import { runSwarmVerify } from './swarm-verify-run.js';

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = readSettings();
  if (settings.target === 'swarm') {
    await runSwarmVerify(settings, logger);
    return;
  }
  if (settings.fleet !== undefined) {
    await runFleetVerify(settings, settings.fleet, logger);
    return;
  }
  const summary = new JobSummary();
  let report: VerifyReport | undefined;
  try {
    const local = settings.bundle === undefined ? undefined : await logger.group('Read the release bundle', () => bundleRelease(settings, logger));
    const connection = await logger.group(`Connect to ${settings.user}@${settings.host}`, () => connectSsh(hostConnectOptions(settings, logger)));
    try {
      const release = local ?? (await logger.group('Read the current release on the host', () => hostRelease(connection, settings, logger)));
      summary.text(`Release checked: ${release.origin}`);
      report = await logger.group('Verify the stack', () =>
        verifyStack(connection, {
          appDir: settings.appDir,
          project: settings.project,
          manifest: release.manifest,
          timeoutMs: settings.timeoutMs,
          logger,
        }),
      );
    } finally {
      await connection.close();
    }
    const reportPath = await writeReport(report, `${report.project}-${report.releaseId}`);
    core.setOutput('report', reportPath);
    logger.info(`Report: ${reportPath}`);
    summary.markdown(renderVerifySummary(report));
  } catch (error: unknown) {
    summary.heading('❌ Not verified').text(error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    core.setOutput('healthy', String(report?.healthy ?? false));
    await summary.write();
  }
  if (!report.healthy) {
    const named = report.failures.map((f) => `${f.service} ${f.check}`);
    const shown = named.slice(0, 10).join(', ');
    throw new Error(
      `The stack is not healthy: ${named.length} failed check${named.length === 1 ? '' : 's'} after ${report.polls} poll(s) in ${Math.round(report.durationMs / 1000)} s: ` +
        `${shown}${named.length > 10 ? `, and ${named.length - 10} more` : ''}. The job summary and the report show each failure with its last health output.`,
    );
  }
}
