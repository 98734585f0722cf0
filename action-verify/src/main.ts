import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import { coreLogger } from '@titan/action-kit/core-logger';
import { hostConnectOptions } from '@titan/action-kit/host-inputs';
import { JobSummary } from '@titan/action-kit/job-summary';
import type { Logger } from '@titan/log/logger';
import type { ReleaseManifest } from '@titan/release/manifest';
import { connectSsh } from '@titan/ssh/connect';
import type { SshConnection } from '@titan/ssh/connection';
import { readLocalBundle } from '@titan/release/local-bundle';
import { readHostRelease } from '@titan/verify/host-release';
import { renderVerifySummary, verifyStack, type VerifyReport } from '@titan/verify/verify-stack';
import { readSettings, type VerifySettings } from './settings.js';
import { runSwarmVerify } from './swarm-verify-run.js';

interface ReleaseToVerify {
  readonly manifest: ReleaseManifest;
  /** Where the manifest came from and how it was verified, for the summary. */
  readonly origin: string;
}

export async function run(logger: Logger = coreLogger): Promise<void> {
  const settings = readSettings();
  if (settings.target === 'swarm') {
    await runSwarmVerify(settings, logger);
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
    const reportPath = await writeReport(report);
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

async function bundleRelease(settings: VerifySettings, logger: Logger): Promise<ReleaseToVerify> {
  const dir = settings.bundle ?? '';
  const { manifest, verified } = await readLocalBundle(dir, settings.publicKeys);
  if (verified) {
    logger.info(`${dir}: release ${manifest.releaseId}, signature and every file verified against the public key`);
    return { manifest, origin: `${manifest.releaseId} from the bundle ${dir}, verified on the runner against public-key` };
  }
  logger.warning(`${dir}: release ${manifest.releaseId} read WITHOUT checking its signature; give public-key to verify it`);
  return { manifest, origin: `${manifest.releaseId} from the bundle ${dir}, NOT verified (no public-key given)` };
}

async function hostRelease(connection: SshConnection, settings: VerifySettings, logger: Logger): Promise<ReleaseToVerify> {
  const release = await readHostRelease(connection, { appDir: settings.appDir, publicKeys: settings.publicKeys });
  const id = release.manifest.releaseId;
  logger.info(`${settings.appDir}/current -> ${release.currentTarget}: release ${id}, ${release.hostVerdict} (checked on the host)`);
  const runner = release.runnerKeyIndex === undefined ? '' : ' and on the runner against public-key';
  return { manifest: release.manifest, origin: `${id}, the host's current release, verified on the host against ${settings.appDir}/trust${runner}` };
}

/** Writes the report as JSON under RUNNER_TEMP (or the working directory); returns its path. */
async function writeReport(report: VerifyReport): Promise<string> {
  const dir = process.env['RUNNER_TEMP'] || process.cwd();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `titan-verify-${report.project}-${report.releaseId}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
  return path;
}
