import { JobSummary } from '@titan/action-kit/job-summary';
import { findingPlace, type Finding } from '@titan/gatekeeper/finding';
import type { CheckStatus, GateReport } from '@titan/gatekeeper/gate';

/**
 * The job summary of the gate: the verdict, a table of checks (status and number of findings) and
 * a table of findings (where, which check, what is wrong, how to fix it). Built from findings that
 * were already redacted.
 */
const STATUS_MARK: Readonly<Record<CheckStatus, string>> = {
  passed: '✅ passed',
  failed: '❌ failed',
  warnings: '⚠️ warnings',
  skipped: '⚠️ skipped',
};

export function gateSummary(report: GateReport, options: { warnOnly: boolean; source: string; posture?: string }): JobSummary {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  const verdict = report.ready
    ? `✅ **Ready to deploy** ${warnings > 0 ? `(${warnings} warning(s))` : ''}`
    : `❌ **Not ready: ${errors} finding(s) block the deploy**${options.warnOnly ? ' (warn-only: the step passes anyway)' : ''}`;
  const summary = new JobSummary()
    .heading('Readiness gate')
    .markdown(verdict.trim())
    .facts([
      ['release source', options.source],
      ['posture', options.posture === 'staging' ? 'staging: development defaults are warnings here, the production gate refuses them' : 'production'],
    ])
    .table(
      ['check', 'status', 'findings'],
      report.checks.map((c) => [c.title, STATUS_MARK[c.status], String(c.errors + c.warnings)]),
    );
  if (report.findings.length > 0) {
    summary.heading('Findings', 3).table(['file:line', 'check', 'what', 'fix'], sortedForReading(report.findings).map(findingRow));
  }
  return summary;
}

function findingRow(finding: Finding): string[] {
  const mark = finding.severity === 'error' ? '❌' : '⚠️';
  return [findingPlace(finding), finding.check, `${mark} ${finding.message}`, finding.fix];
}

function sortedForReading(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
