/**
 * What a migration file may hold, as psql will read it: the deployer pipes each file through
 * `psql -v ON_ERROR_STOP=1 --single-transaction`, followed by the INSERT of its history row, so that
 * the file's changes and its row commit together or not at all. A file breaks that when it
 *   - controls the transaction: BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT, PREPARE
 *     TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED (a COMMIT inside commits the file's changes
 *     without their row; what follows then runs outside any transaction). SAVEPOINT, RELEASE and
 *     ROLLBACK TO stay inside the deployer's transaction and are allowed;
 *   - holds a psql meta-command (`\q`, `\set`, `\!`, `\i`, `\gset`, ... : a backslash outside quotes
 *     and comments): `\q` ends psql before the history row, `\!` runs a shell, `\set` changes psql;
 *   - reads psql variables (`:'name'`, `:"name"`, `:{?name}`), which psql substitutes with its own;
 *   - copies FROM STDIN (psql would read the rest of its input, the history row included, as data);
 *   - leaves a quote, a comment or a dollar quote open (psql would read the history row as part of
 *     it).
 * The file is scanned the way psql's lexer splits it: -- and nested block comments, '...' and
 * E'...' strings, "..." identifiers, $tag$...$tag$ bodies (a DO block's or a function's BEGIN and
 * COMMIT are inside one, and allowed), and the SQL-standard function bodies `BEGIN ATOMIC ... END`.
 * One rule, used by the gatekeeper on the release source and by the deploy on the host's verified
 * copy of every migration it is about to apply, before anything stops.
 */
export type MigrationContentKind = 'transaction' | 'meta-command' | 'variable' | 'copy-stdin' | 'unterminated';

export interface MigrationContentProblem {
  readonly kind: MigrationContentKind;
  /** 1-based line. */
  readonly line: number;
  /** What was found, as written (`COMMIT`, `ROLLBACK PREPARED`, `\q`, `:'name'`). */
  readonly found: string;
  /** A sentence: what it does to the deploy. */
  readonly message: string;
  readonly fix: string;
}

const REFUSED_TRANSACTION = new Map<string, string>([
  ['BEGIN', 'starts a transaction of its own'],
  ['START', 'starts a transaction of its own'],
  ['COMMIT', 'commits in the middle of the deployer\u2019s transaction (its changes would be kept without their history row)'],
  ['END', 'commits in the middle of the deployer\u2019s transaction (its changes would be kept without their history row)'],
  ['ROLLBACK', 'rolls back the deployer\u2019s transaction (what follows would run outside any transaction)'],
  ['ABORT', 'rolls back the deployer\u2019s transaction (what follows would run outside any transaction)'],
  ['PREPARE', 'ends the deployer\u2019s transaction as a prepared transaction'],
]);

const TRANSACTION_FIX = 'Remove it: the deployer runs each migration in one transaction with its history row (SAVEPOINT, RELEASE and ROLLBACK TO SAVEPOINT are fine)';

interface Statement {
  line: number;
  /** Upper-cased, to match; `raw` as written, to show. Strings and bodies are one placeholder word each. */
  words: string[];
  raw: string[];
}

/** Every problem of a migration's text, in order of lines. */
export function migrationContentProblems(text: string): MigrationContentProblem[] {
  const problems: MigrationContentProblem[] = [];
  const statements: Statement[] = [];
  let current: Statement | undefined;
  let line = 1;
  let bracketDepth = 0;
  let atomicDepth = 0;
  let i = 0;
  const n = text.length;
  const at = (k: number): string => text[k] ?? '';
  const isIdent = (c: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
  const advanceTo = (end: number): void => {
    for (let k = i; k < end && k < n; k += 1) if (text[k] === '\n') line += 1;
    i = end;
  };
  const endStatement = (): void => {
    if (current !== undefined) statements.push(current);
    current = undefined;
    bracketDepth = 0;
  };

  while (i < n) {
    const c = at(i);
    const next = at(i + 1);
    if (c === '\n') {
      line += 1;
      i += 1;
      continue;
    }
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '-' && next === '-') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol;
      continue;
    }
    if (c === '/' && next === '*') {
      const start = line;
      let depth = 0;
      let k = i;
      for (; k < n; k += 1) {
        if (text[k] === '/' && text[k + 1] === '*') {
          depth += 1;
          k += 1;
        } else if (text[k] === '*' && text[k + 1] === '/') {
          depth -= 1;
          k += 1;
          if (depth === 0) break;
        }
      }
      if (depth !== 0) {
        problems.push(unterminated(start, '/*', 'a block comment'));
        break;
      }
      advanceTo(k + 1);
      continue;
    }
    if (c === "'" || c === '"') {
      const escapes = c === "'" && /[Ee]/.test(at(i - 1)) && !isIdent(at(i - 2));
      const start = line;
      let k = i + 1;
      for (; k < n; k += 1) {
        if (escapes && text[k] === '\\') {
          k += 1;
          continue;
        }
        if (text[k] === c) {
          if (text[k + 1] === c) {
            k += 1;
            continue;
          }
          break;
        }
      }
      if (k >= n) {
        problems.push(unterminated(start, c, c === "'" ? 'a string' : 'a quoted identifier'));
        break;
      }
      current ??= { line: start, words: [], raw: [] };
      current.words.push(c === "'" ? "'" : '"');
      current.raw.push(c);
      advanceTo(k + 1);
      continue;
    }
    if (c === '$' && !isIdent(at(i - 1))) {
      const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i, i + 64));
      if (tag !== null) {
        const start = line;
        const close = text.indexOf(tag[0], i + tag[0].length);
        if (close < 0) {
          problems.push(unterminated(start, tag[0], 'a dollar-quoted body'));
          break;
        }
        current ??= { line: start, words: [], raw: [] };
        current.words.push('$$');
        current.raw.push('$$');
        advanceTo(close + tag[0].length);
        continue;
      }
    }
    if (c === '\\') {
      const command = /^\\([A-Za-z]+|[^A-Za-z\s])/.exec(text.slice(i))?.[0] ?? '\\';
      problems.push({
        kind: 'meta-command',
        line,
        found: command,
        message: `holds the psql meta-command ${command}, which psql runs instead of sending it to the database (\\q would end psql before the history row, \\! runs a shell)`,
        fix: 'Remove it: a migration is SQL only',
      });
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol;
      continue;
    }
    if (c === ':' && next === ':') {
      i += 2;
      continue;
    }
    if (c === ':' && (next === "'" || next === '"' || (next === '{' && at(i + 2) === '?'))) {
      const found = /^:('[^']*'?|"[^"]*"?|\{\?[^}]*\}?)/.exec(text.slice(i))?.[0] ?? ':';
      problems.push({
        kind: 'variable',
        line,
        found,
        message: `reads the psql variable ${found}, which psql replaces with its own value before the database sees it`,
        fix: 'Write the value itself: a migration is the same SQL on every host',
      });
      i += found.length;
      continue;
    }
    if (c === '[') bracketDepth += 1;
    if (c === ']') bracketDepth = Math.max(0, bracketDepth - 1);
    if (c === ';') {
      if (atomicDepth === 0) endStatement();
      i += 1;
      continue;
    }
    if (isIdent(c) && !/[0-9$]/.test(c)) {
      let k = i;
      while (k < n && isIdent(at(k))) k += 1;
      const word = text.slice(i, k).toUpperCase();
      current ??= { line, words: [], raw: [] };
      current.words.push(word);
      current.raw.push(text.slice(i, k));
      if (current.words[0] === 'CREATE') {
        const previous = current.words.at(-2);
        if (word === 'ATOMIC' && previous === 'BEGIN') atomicDepth += 1;
        else if (atomicDepth > 0 && word === 'CASE') atomicDepth += 1;
        else if (atomicDepth > 0 && word === 'END') atomicDepth -= 1;
      }
      i = k;
      continue;
    }
    current ??= { line, words: [], raw: [] };
    i += 1;
  }
  endStatement();

  for (const statement of statements) {
    const problem = statementProblem(statement);
    if (problem !== undefined) problems.push(problem);
  }
  return problems.sort((a, b) => a.line - b.line);
}

function statementProblem(statement: Statement): MigrationContentProblem | undefined {
  const [first = '', second = '', third = ''] = statement.words;
  if (first === 'COPY' && statement.words.some((w, k) => w === 'FROM' && statement.words[k + 1] === 'STDIN')) {
    return {
      kind: 'copy-stdin',
      line: statement.line,
      found: 'COPY ... FROM STDIN',
      message: 'copies FROM STDIN, so psql would read the rest of its input, the history row included, as the data',
      fix: 'Load the rows with INSERT statements instead',
    };
  }
  const refused = REFUSED_TRANSACTION.get(first);
  if (refused === undefined) return undefined;
  if (first === 'START' && second !== 'TRANSACTION') return undefined;
  if (first === 'PREPARE' && second !== 'TRANSACTION') return undefined;
  if (first === 'ROLLBACK' && (second === 'TO' || ((second === 'WORK' || second === 'TRANSACTION') && third === 'TO'))) return undefined;
  const found = statement.raw.slice(0, ['TRANSACTION', 'WORK', 'PREPARED', 'AND'].includes(second) ? 2 : 1).join(' ');
  return { kind: 'transaction', line: statement.line, found, message: `controls its own transaction (${found}): it ${refused}`, fix: TRANSACTION_FIX };
}

function unterminated(line: number, opener: string, what: string): MigrationContentProblem {
  return {
    kind: 'unterminated',
    line,
    found: opener,
    message: `opens ${what} (${opener}) that is never closed, so psql would read the history row as part of it`,
    fix: 'Close it',
  };
}
