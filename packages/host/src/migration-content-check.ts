/**
 * The host's own check of the migrations a deploy is about to apply, before anything stops: each
 * pending migration is read back from the release folder the host verified (its bytes checked
 * against the manifest's sha256 once more), and held to the release package's migration content
 * rule (`@titan/release/migration-content`), the same rule the gatekeeper applies to the release
 * source: no transaction control, no psql meta-command or variable, no COPY FROM STDIN, no unclosed
 * quote. A bundle that skipped the gate, or was signed from a source the gate never saw, is refused
 * here.
 */
import { createHash } from 'node:crypto';
import { migrationContentProblems } from '@titan/release/migration-content';
import type { SshConnection } from '@titan/ssh/connection';
import type { HostLayout } from './host-layout.js';
import type { MigrationFile } from './migration-plan.js';
import { ProblemsError } from './problems-error.js';
import { readReleaseFiles } from './release-files.js';

/** Its problems are `file:line what`, one a problem. */
export class MigrationContentError extends ProblemsError<string> {
  override readonly name = 'MigrationContentError';
}

export async function checkMigrationContent(connection: SshConnection, layout: HostLayout, releaseId: string, pending: readonly MigrationFile[]): Promise<void> {
  if (pending.length === 0) return;
  const files = await readReleaseFiles(connection, layout, releaseId, pending.map((m) => m.path));
  const problems: string[] = [];
  const fixes = new Set<string>();
  for (const migration of pending) {
    const bytes = files.get(migration.path);
    if (bytes === undefined) throw new Error(`${layout.releaseDir(releaseId)}/${migration.path} could not be read back from the host.`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== migration.sha256) {
      throw new Error(`${layout.releaseDir(releaseId)}/${migration.path} on the host does not match its sha256 in the manifest; the release folder was altered after it was verified.`);
    }
    for (const problem of migrationContentProblems(bytes.toString('utf8'))) {
      problems.push(`${migration.path}:${problem.line} ${problem.message}`);
      fixes.add(problem.fix);
    }
  }
  if (problems.length > 0) {
    throw new MigrationContentError(
      `The host refuses to apply the migrations of release ${releaseId}: ${problems.join('; ')}. Nothing was stopped and no migration ran. ` +
        `${[...fixes].join('. ')}; then sign a new release (the gatekeeper refuses the same files).`,
      problems,
    );
  }
}
