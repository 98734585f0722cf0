/**
 * What a run found and did, resource by resource: the plan (plan mode prints it and stops) and the
 * record of what was applied. Every line a user reads in the log and the job summary comes from
 * here, so the plan and the summary cannot tell different stories.
 */
export type ChangeKind = 'create' | 'change' | 'unchanged' | 'drift';

export interface ResourceChange {
  /** `droplet`, `volume`, `firewall`, `dns A`, `host key`, `values`, `secret PROD_SSH_HOST`, ... */
  readonly resource: string;
  readonly name: string;
  kind: ChangeKind;
  /** What differs or what will be done, one fact a line (never a secret value). */
  readonly details: string[];
  /** Set once applied (or when it already existed). */
  id?: string;
  applied?: boolean;
}

export function change(resource: string, name: string, kind: ChangeKind, details: string[] = [], id?: string): ResourceChange {
  return { resource, name, kind, details, ...(id === undefined ? {} : { id }) };
}

/** The words a person reads for each kind, in the plan (future) and after applying (past). */
export function kindLabel(kind: ChangeKind, planned: boolean): string {
  switch (kind) {
    case 'create':
      return planned ? 'will be created' : 'created';
    case 'change':
      return planned ? 'will be changed' : 'changed';
    case 'unchanged':
      return 'unchanged';
    case 'drift':
      return 'drift (left as is)';
  }
}

export function describeChanges(changes: readonly ResourceChange[], planned: boolean): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`${c.resource} ${c.name}: ${kindLabel(c.kind, planned)}${c.id === undefined ? '' : ` (${c.id})`}`);
    for (const d of c.details) lines.push(`    ${d}`);
  }
  return lines;
}

/** A failure partway: says what this run had already created or changed, so nothing is left unreported. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  readonly phase: string;
  override readonly cause: unknown;
  readonly done: readonly ResourceChange[];
  constructor(phase: string, cause: unknown, done: readonly ResourceChange[]) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const applied = done.filter((c) => c.applied && c.kind !== 'unchanged');
    super(
      `${phase}: ${why}` +
        (applied.length === 0
          ? ' Nothing had been created or changed by this run.'
          : ` Already done by this run, and left in place (the next run converges from it): ${applied.map((c) => `${c.resource} ${c.name}${c.id === undefined ? '' : ` (${c.id})`} ${kindLabel(c.kind, false)}`).join('; ')}.`),
      { cause },
    );
    this.phase = phase;
    this.cause = cause;
    this.done = done;
  }
}
