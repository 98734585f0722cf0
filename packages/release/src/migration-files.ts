/**
 * The one rule for the files of a migrations folder, which gatekeeper, sign and the host apply alike:
 * only `.sql` files named `NNNN_description.sql`, directly in the folder, numbered consecutively
 * from 0001, each number once. A gap or a repeat means a file went missing or two branches
 * collided, which deploy must not discover on the host.
 */
export const MIGRATION_NAME_PATTERN = /^(\d{4})_[A-Za-z0-9][A-Za-z0-9._-]*\.sql$/;

/** An entry of the migrations folder. */
export interface MigrationFolderEntry {
  readonly name: string;
  readonly isFile: boolean;
}

/** One problem of a migrations folder: the entry at fault, what is wrong, how to fix it. */
export interface MigrationFileProblem {
  readonly name: string;
  readonly message: string;
  readonly fix: string;
}

/** The number of a migration file name, or undefined when the name is not one. */
export function migrationNumber(name: string): number | undefined {
  const match = MIGRATION_NAME_PATTERN.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Every problem of the folder's entries, in name order. */
export function migrationFileProblems(entries: readonly MigrationFolderEntry[]): MigrationFileProblem[] {
  const problems: MigrationFileProblem[] = [];
  let expected = 1;
  let previous: { name: string; number: number } | undefined;
  for (const { name, isFile } of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const number = isFile ? migrationNumber(name) : undefined;
    if (number === undefined) {
      problems.push({
        name,
        message: isFile ? `${name} is not a migration named NNNN_name.sql` : `${name} is a folder; migrations are the .sql files directly in the migrations folder`,
        fix: 'Rename it NNNN_short_name.sql with the next free number, or move it out of the migrations folder',
      });
      continue;
    }
    if (previous !== undefined && number === previous.number) {
      problems.push({
        name,
        message: `${name} has the same number as ${previous.name}`,
        fix: `Renumber ${name} to ${pad(expected)} (the next free number), unless ${previous.name} is not yet released and should be renumbered instead`,
      });
      continue;
    }
    if (number !== expected) {
      const missing = expected === number - 1 ? pad(expected) : `${pad(expected)}-${pad(number - 1)}`;
      problems.push({
        name,
        message: previous === undefined ? `The first migration is ${name}; numbering starts at 0001` : `${name} follows ${previous.name}: ${missing} is missing`,
        fix: `Number migrations consecutively: rename ${name} to ${pad(expected)}_${name.slice(5)}`,
      });
    }
    expected = number + 1;
    previous = { name, number };
  }
  return problems;
}

export function pad(n: number): string {
  return String(n).padStart(4, '0');
}
