/**
 * What the gate found: one problem, where it is and how to fix it. Findings never carry a
 * production value (a secret, or a weak value that may be one): they name variables, files and
 * lines only.
 */
export type Severity = 'error' | 'warning';

/** The checks of the gate, in the order they run and are reported. */
export const CHECKS = ['ci', 'source', 'production-values', 'compose', 'secrets', 'stack', 'migrations', 'policy', 'lockfiles'] as const;
export type CheckId = (typeof CHECKS)[number];

export const CHECK_TITLES: Readonly<Record<CheckId, string>> = {
  ci: 'CI green for the commit',
  source: 'Release source (services.yml)',
  'production-values': 'Production values',
  compose: 'Compose policy',
  secrets: 'Secret files',
  stack: 'Stack profile',
  migrations: 'Migrations',
  policy: 'Policy file',
  lockfiles: 'Lockfiles in sync',
};

export interface Finding {
  check: CheckId;
  severity: Severity;
  /**
   * The file to change, relative to the gate's path root (the workspace) when inside it; `input:values`
   * for the `values` input; null when no file is involved (a CI check run).
   */
  file: string | null;
  /** 1-based line in `file` where the offending value is set; null when no line applies. */
  line: number | null;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  fix: string;
}

/** `file:line`, `file` or `-`: how a finding's place is shown to a person. */
export function findingPlace(finding: Pick<Finding, 'file' | 'line'>): string {
  if (finding.file === null) return '-';
  return finding.line === null ? finding.file : `${finding.file}:${finding.line}`;
}

/** Errors block the deploy; warnings are reported only. */
export function isBlocking(finding: Finding): boolean {
  return finding.severity === 'error';
}
