import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { migrationContentProblems } from '@titan/release/migration-content';
import { MIGRATION_NAME_PATTERN, migrationFileProblems, migrationNumber, pad } from '@titan/release/migration-files';
import type { DisplayPaths } from './display-path.js';
import type { Finding } from './finding.js';
import type { PreviousManifest } from './previous-manifest.js';

/**
 * The migrations of a release: named `NNNN_name.sql`, numbered consecutively from 0001 with no gap
 * and no duplicate, nothing else in the folder (the release package's migration-file rule, which
 * sign and the host apply too), nothing inside that breaks the deployer's one
 * transaction per migration (transaction control, psql meta-commands and variables, COPY FROM
 * STDIN, an unclosed quote: the release package's migration-content rule, which the deploy applies
 * again on the host), and, against the previous release's manifest, none edited, removed or
 * slipped in before one already released.
 */
export interface MigrationsInput {
  dir: string;
  paths: DisplayPaths;
  previous?: PreviousManifest | undefined;
}

const CHECK = 'migrations';

interface Migration {
  name: string;
  number: number;
  path: string;
  file: string;
  sha256: string;
  text: string;
}

export async function checkMigrations(input: MigrationsInput): Promise<Finding[]> {
  const { dir, paths } = input;
  const findings: Finding[] = [];
  let names: { name: string; isFile: boolean }[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, isFile: d.isFile() }));
  } catch (error: unknown) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return [finding(paths.of(dir), null, `The migrations folder cannot be read (${code})`, 'Create it (release.migrations in services.yml names it), even if it holds no migration yet')];
  }
  findings.push(...migrationFileProblems(names).map((p) => finding(paths.of(join(dir, p.name)), null, p.message, p.fix)));
  const migrations: Migration[] = [];
  for (const { name, isFile } of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const number = isFile ? migrationNumber(name) : undefined;
    if (number === undefined) continue;
    const path = join(dir, name);
    const bytes = await readFile(path);
    migrations.push({ name, number, path, file: paths.of(path), sha256: createHash('sha256').update(bytes).digest('hex'), text: bytes.toString('utf8') });
  }
  findings.push(...migrations.flatMap(contentFindings));
  if (input.previous !== undefined) findings.push(...releasedFindings(migrations, input.previous, dir, paths));
  return findings;
}

function contentFindings(migration: Migration): Finding[] {
  return migrationContentProblems(migration.text).map((p) => finding(migration.file, p.line, `${migration.name} ${p.message}`, p.fix));
}

function releasedFindings(migrations: readonly Migration[], previous: PreviousManifest, dir: string, paths: DisplayPaths): Finding[] {
  const findings: Finding[] = [];
  const folder = basename(dir);
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const released = previous.files.filter((f) => {
    const parts = f.path.split('/');
    const name = parts.at(-1) ?? '';
    const parent = parts.at(-2);
    return MIGRATION_NAME_PATTERN.test(name) && (parent === 'migrations' || parent === folder);
  });
  let highest = 0;
  for (const file of released) {
    const name = file.path.split('/').at(-1) ?? file.path;
    highest = Math.max(highest, Number(name.slice(0, 4)));
    const current = byName.get(name);
    if (current === undefined) {
      findings.push(finding(paths.of(join(dir, name)), null, `${name} was released (previous manifest: ${file.path}) and is now missing`, `Restore ${name} exactly as released; undo a change with a new migration instead`));
    } else if (current.sha256 !== file.sha256) {
      findings.push(finding(current.file, null, `${name} was edited after it was released (sha256 ${current.sha256.slice(0, 12)}… differs from the previous manifest's ${file.sha256.slice(0, 12)}…)`, `Restore ${name} as released (git checkout it from the released commit) and put the change in a new migration`));
    }
  }
  const releasedNames = new Set(released.map((f) => f.path.split('/').at(-1)));
  for (const migration of migrations) {
    if (!releasedNames.has(migration.name) && migration.number <= highest) {
      findings.push(finding(migration.file, null, `${migration.name} is new but numbered before a migration already released (up to ${pad(highest)}), so hosts that ran the later ones would skip it`, `Renumber it after ${pad(highest)}`));
    }
  }
  return findings;
}

function finding(file: string, line: number | null, message: string, fix: string): Finding {
  return { check: CHECK, severity: 'error', file, line, message, fix };
}
