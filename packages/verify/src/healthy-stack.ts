import type { Logger } from '@titan/log/logger';
import type { ReleaseManifest } from '@titan/release/manifest';
import type { SshConnection } from '@titan/ssh/connection';
import type { VerifyReport } from './verify-report.js';
import { verifyStack, type VerifyOptions } from './verify-stack.js';

/** The release did not verify within its timeout; the report names every failing service and check. */
export class StackUnhealthyError extends Error {
  override readonly name = 'StackUnhealthyError';

  readonly report: VerifyReport;
  constructor(report: VerifyReport) {
    const failures = report.failures.slice(0, 5).map((f) => `${f.service} ${f.check}: ${f.detail}`);
    const more = report.failures.length > 5 ? ` (and ${report.failures.length - 5} more)` : '';
    super(`Release ${report.releaseId} did not verify within ${Math.round(report.timeoutMs / 1000)} s: ${failures.join('; ')}${more}`);
    this.report = report;
  }
}

/** verifyStack for callers that go on only with a healthy stack (deploy, rollback): throws StackUnhealthyError otherwise. */
export async function requireHealthyStack(connection: SshConnection, options: VerifyOptions): Promise<VerifyReport> {
  const report = await verifyStack(connection, options);
  if (!report.healthy) throw new StackUnhealthyError(report);
  return report;
}

/** What the verify phase of a run on a host (deploy, restart, rollback) takes from the run's request. */
export interface HealthyReleaseRequest {
  readonly layout: { readonly appDir: string };
  readonly project: string;
  readonly healthTimeoutSeconds: number;
  /** Pause between verification polls (default verifyStack's). */
  readonly verifyPollMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly logger: Logger;
}

/** The verify phase of a deploy, a restart or a rollback: `manifest`, which now runs, healthy within the run's health timeout. */
export function requireHealthyRelease(connection: SshConnection, manifest: ReleaseManifest, request: HealthyReleaseRequest): Promise<VerifyReport> {
  return requireHealthyStack(connection, {
    appDir: request.layout.appDir,
    project: request.project,
    manifest,
    timeoutMs: request.healthTimeoutSeconds * 1000,
    logger: request.logger,
    ...(request.verifyPollMs !== undefined ? { pollMs: request.verifyPollMs } : {}),
    ...(request.signal !== undefined ? { signal: request.signal } : {}),
  });
}
