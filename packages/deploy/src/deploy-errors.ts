/**
 * Why a deploy stopped, each naming what is wrong and what to do. None carries a secret.
 */
import type { VerifyReport } from '@titan/verify/verify-stack';

/** The host is not ready for a deploy (not provisioned, no trusted key, production values missing or readable by others). */
export class HostNotReadyError extends Error {
  override readonly name = 'HostNotReadyError';
}

/** A migration the database already applied differs from (or is missing in) the release. */
export class MigrationDriftError extends Error {
  override readonly name = 'MigrationDriftError';
}

/** The new release did not verify within health-timeout. */
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
