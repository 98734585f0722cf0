/**
 * The migration content rule, on SQL as psql splits it: transaction control in every spelling, psql
 * meta-commands and variables, COPY FROM STDIN and unclosed quotes are found at their line; the same
 * words inside strings, identifiers, comments, dollar-quoted bodies and BEGIN ATOMIC bodies are not.
 * The sample release's own migrations pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationContentProblems } from '@titan/release/migration-content';

const found = (sql: string): string[] => migrationContentProblems(sql).map((p) => `${p.line} ${p.kind} ${p.found}`);

describe('migration content', () => {
  it.each([
    ['BEGIN;', '1 transaction BEGIN'],
    ['begin work;', '1 transaction begin work'],
    ['BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE;', '1 transaction BEGIN TRANSACTION'],
    ['START TRANSACTION;', '1 transaction START TRANSACTION'],
    ['COMMIT;', '1 transaction COMMIT'],
    ['commit and chain;', '1 transaction commit and'],
    ['END;', '1 transaction END'],
    ['end transaction;', '1 transaction end transaction'],
    ['ROLLBACK;', '1 transaction ROLLBACK'],
    ['ABORT;', '1 transaction ABORT'],
    ["PREPARE TRANSACTION 'x';", '1 transaction PREPARE TRANSACTION'],
    ["COMMIT PREPARED 'x';", '1 transaction COMMIT PREPARED'],
    ["ROLLBACK PREPARED 'x';", '1 transaction ROLLBACK PREPARED'],
    ['CREATE TABLE t (id int);\n  COMMIT\n;', '2 transaction COMMIT'],
    ['SELECT 1; COMMIT', '1 transaction COMMIT'],
    ['\\q', '1 meta-command \\q'],
    ['CREATE TABLE t (id int);\n\\set ON_ERROR_STOP off', '2 meta-command \\set'],
    ['\\! rm -rf /', '1 meta-command \\!'],
    ['SELECT 1 \\gset', '1 meta-command \\gset'],
    ["\\i other.sql", '1 meta-command \\i'],
    ["INSERT INTO t VALUES (:'titan_file');", "1 variable :'titan_file'"],
    ['SELECT :"name";', '1 variable :"name"'],
    ['COPY t FROM STDIN;', '1 copy-stdin COPY ... FROM STDIN'],
    ["SELECT 'never closed;", "1 unterminated '"],
    ['/* never closed', '1 unterminated /*'],
    ['DO $x$ BEGIN NULL; END', '1 unterminated $x$'],
  ])('refuses %j', (sql, expected) => {
    expect(found(sql)).toEqual([expected]);
  });

  it.each([
    ['savepoints stay inside the transaction', 'SAVEPOINT a; CREATE TABLE t (id int); ROLLBACK TO SAVEPOINT a; ROLLBACK TO a; RELEASE SAVEPOINT a; ROLLBACK WORK TO SAVEPOINT a;'],
    ['words in strings, identifiers and comments', "INSERT INTO log (msg) VALUES ('COMMIT; \\q :''x'''); SELECT \"commit\" FROM t; -- COMMIT; \\q\n/* BEGIN; /* nested */ COMMIT; */ SELECT 1;"],
    ["an E'' string with escapes", "SELECT E'it\\'s; COMMIT; \\\\q';"],
    ['a DO block and a plpgsql function', 'DO $$ BEGIN PERFORM 1; COMMIT; END $$;\nCREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN RAISE NOTICE \'x\'; END; $body$;'],
    ['a BEGIN ATOMIC body', 'CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\nCREATE TABLE after_it (id int);'],
    ['casts, parameters and array slices', 'SELECT 1::int, (ARRAY[1,2,3])[1:2], $1, a$b FROM t WHERE x = :: int;'],
    ['COPY to stdout and words named like commands', "COPY t TO STDOUT; CREATE TABLE begin_log (ended boolean); SELECT end_at FROM abort_reasons;"],
  ])('accepts %s', (_what, sql) => {
    expect(found(sql)).toEqual([]);
  });

  it('names the line of each problem, several in one file', () => {
    const sql = 'CREATE TABLE a (id int);\n\nBEGIN;\nCREATE TABLE b (id int);\n-- a comment\nCOMMIT;\n\\q\n';
    expect(migrationContentProblems(sql).map((p) => [p.line, p.found, p.message, p.fix])).toEqual([
      [3, 'BEGIN', 'controls its own transaction (BEGIN): it starts a transaction of its own', expect.stringContaining('Remove it')],
      [6, 'COMMIT', expect.stringContaining('its changes would be kept without their history row'), expect.stringContaining('SAVEPOINT')],
      [7, '\\q', expect.stringContaining('\\q would end psql before the history row'), 'Remove it: a migration is SQL only'],
    ]);
  });

  it("the sample release's migrations pass", () => {
    const dir = resolve(import.meta.dirname, '../../../examples/titan/migrations');
    for (const name of readdirSync(dir)) expect(found(readFileSync(join(dir, name), 'utf8')), name).toEqual([]);
  });
});
