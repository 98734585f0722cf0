/**
 * Which migrations a release still has to apply, and whether the database's history agrees with the
 * release: a migration that was applied but whose file is now different (or gone) is drift, and a
 * deploy refuses it before anything stops. Pure: the applied list comes from the database, the
 * release's list from its manifest.
 */
import { posix } from 'node:path';
import type { ReleaseManifest } from '@titan/release/manifest';
import { MIGRATION_NAME_PATTERN } from '@titan/release/migration-files';

/** The bundle folder migrations are shipped in (examples/titan: `migrations`). */
export const MIGRATIONS_FOLDER = 'migrations';

export interface MigrationFile {
  /** File name, recorded as `file` in _titan_migrations (`0001_accounts_and_orders.sql`). */
  readonly file: string;
  /** Path in the bundle (`migrations/0001_accounts_and_orders.sql`). */
  readonly path: string;
  readonly sha256: string;
}

export interface AppliedMigration {
  readonly file: string;
  readonly sha256: string;
}

export interface MigrationDrift {
  readonly file: string;
  readonly appliedSha256: string;
  /** The release's sha256 of the file, or undefined when the release does not have it any more. */
  readonly releaseSha256: string | undefined;
}

export interface MigrationPlan {
  /** In the order they must run. */
  readonly pending: readonly MigrationFile[];
  readonly alreadyApplied: number;
  readonly drift: readonly MigrationDrift[];
}

/** The release's migrations, in order (the manifest lists files sorted by path). */
export function releaseMigrations(manifest: ReleaseManifest, folder = MIGRATIONS_FOLDER): MigrationFile[] {
  return manifest.files
    .filter((f) => posix.dirname(f.path) === folder && MIGRATION_NAME_PATTERN.test(posix.basename(f.path)))
    .map((f) => ({ file: posix.basename(f.path), path: f.path, sha256: f.sha256 }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

export function planMigrations(applied: readonly AppliedMigration[], release: readonly MigrationFile[]): MigrationPlan {
  const byFile = new Map(release.map((m) => [m.file, m]));
  const appliedFiles = new Set(applied.map((a) => a.file));
  const drift: MigrationDrift[] = [];
  for (const a of applied) {
    const file = byFile.get(a.file);
    if (file === undefined || file.sha256 !== a.sha256) drift.push({ file: a.file, appliedSha256: a.sha256, releaseSha256: file?.sha256 });
  }
  return {
    pending: release.filter((m) => !appliedFiles.has(m.file)),
    alreadyApplied: applied.length,
    drift,
  };
}

/** What a person reads when drift stops a deploy. */
export function describeDrift(drift: readonly MigrationDrift[]): string {
  return drift
    .map((d) =>
      d.releaseSha256 === undefined
        ? `${d.file} was applied (sha256 ${d.appliedSha256.slice(0, 12)}…) but the release no longer ships it`
        : `${d.file} was applied with sha256 ${d.appliedSha256.slice(0, 12)}… but the release's file has sha256 ${d.releaseSha256.slice(0, 12)}…`,
    )
    .join('; ');
}
