import { posix } from 'node:path';

/**
 * Migrations are applied in the order of their number: `0001_name.sql`, `0002_...`, numbered
 * consecutively from 1, each number once. A gap or a repeat means a file went missing or two
 * branches collided, which deploy must not discover on the host. Returns the problem, if any.
 */
export const MIGRATION_NAME_PATTERN = /^(\d{4})_[A-Za-z0-9._-]+\.sql$/;

export function migrationProblem(folder: string, paths: readonly string[]): { path: string; problem: string } | undefined {
  const numbers: number[] = [];
  for (const path of paths) {
    if (posix.dirname(path) !== folder) {
      return { path, problem: 'is in a subfolder; migrations are the .sql files directly in the migrations folder' };
    }
    const match = MIGRATION_NAME_PATTERN.exec(posix.basename(path));
    if (match?.[1] === undefined) {
      return { path, problem: 'is not named like a migration: NNNN_description.sql (four digits, e.g. 0004_add_fees.sql)' };
    }
    numbers.push(Number(match[1]));
  }
  const sorted = [...numbers].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i += 1) {
    const expected = i + 1;
    if (sorted[i] !== expected) {
      const number = String(expected).padStart(4, '0');
      return sorted[i] === sorted[i - 1]
        ? { path: folder, problem: `two migrations are numbered ${String(sorted[i]).padStart(4, '0')}; renumber one` }
        : { path: folder, problem: `migration ${number} is missing: migrations are numbered consecutively from 0001` };
    }
  }
  return undefined;
}
