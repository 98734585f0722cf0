/**
 * The restore script for real, against the machine's own Postgres 15 (a throwaway cluster on a
 * socket, run as the postgres user): a custom-format dump on stdin lands in the staging database
 * only, each table's row count (the rows the server inserted into it, read once the restore's
 * session ended) matches a count at the source (quoted names, an empty table, partitions and an
 * inheritance parent counted again), and only the rename script makes the database asked for exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTableFacts, TABLE_FACTS_QUERY, TABLE_FACTS_SETTINGS } from '@titan/backup/table-facts';
import { PG_RENAME_SCRIPT, PG_RESTORE_SCRIPT, stagingDatabase } from '../src/postgres-restore.js';
import { compareTables } from '../src/postgres-proof.js';
import { RestoreOutput } from '../src/restored-tables.js';

const BIN = '/usr/lib/postgresql/15/bin';
const dir = mkdtempSync(join(tmpdir(), 'titan-pg-restore-'));
const env = { ...process.env, PGHOST: dir };

function asPostgres(args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore', cwd: '/' });
}

function psql(database: string, sql: string): string {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', database], { env, input: sql, encoding: 'utf8' }).trim();
}

function restore(database: string, dump: Buffer, tables: string, options = ''): { status: number | null; output: RestoreOutput; stderr: string } {
  const run = spawnSync('sh', ['-c', PG_RESTORE_SCRIPT, 'titan-pg-restore', 'postgres', 'titan', database, stagingDatabase(database), tables], { env: { ...env, PGOPTIONS: options }, input: dump, encoding: 'utf8' });
  const output = new RestoreOutput();
  for (const line of run.stdout.split('\n')) output.line(line);
  return { status: run.status, output, stderr: run.stderr };
}

const databases = (): string[] => psql('postgres', 'SELECT datname FROM pg_database ORDER BY 1').split('\n');

beforeAll(() => {
  chmodSync(dir, 0o777);
  asPostgres([`${BIN}/initdb`, '-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust']);
  asPostgres([`${BIN}/pg_ctl`, '-D', join(dir, 'data'), '-w', '-l', join(dir, 'log'), '-o', `-c listen_addresses= -c unix_socket_directories=${dir} -c fsync=off`, 'start']);
  psql('postgres', 'CREATE ROLE titan LOGIN; CREATE DATABASE src OWNER titan;');
  psql(
    'src',
    `CREATE TABLE tick (id bigint PRIMARY KEY, note text);
     INSERT INTO tick SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
     CREATE TABLE "Odd ""Name""" ("a b" int); INSERT INTO "Odd ""Name""" VALUES (1), (2), (3);
     CREATE TABLE empty_one (x int);
     CREATE TABLE parted (k int, v text) PARTITION BY RANGE (k);
     CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
     CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (100) TO (200);
     INSERT INTO parted SELECT g, 'x' FROM generate_series(0, 149) g;
     CREATE TABLE base (id int); CREATE TABLE child (extra int) INHERITS (base);
     INSERT INTO base VALUES (1), (2); INSERT INTO child VALUES (3, 3);
     CREATE SCHEMA other; CREATE TABLE other.t (v text); INSERT INTO other.t VALUES ('a');`,
  );
}, 60_000);

afterAll(() => {
  asPostgres([`${BIN}/pg_ctl`, '-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
});

describe('the restore script (a real Postgres 15)', () => {
  it('restores into the staging database only; the rows inserted (and the parents counted again) match the source; the rename makes the database', () => {
    const dump = execFileSync('pg_dump', ['-Fc', '-U', 'postgres', 'src'], { env });
    const expected = parseTableFacts(execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-v', 'tables=other.t', '-U', 'postgres', '-d', 'src'], { env, input: `${TABLE_FACTS_SETTINGS}${TABLE_FACTS_QUERY}`, encoding: 'utf8' }).split('\n'));
    expect(expected.map((t) => [t.name, t.rows])).toEqual([
      ['other.t', 1], ['public.Odd "Name"', 3], ['public.base', 3], ['public.child', 1], ['public.empty_one', 0], ['public.parted', 150], ['public.parted_1', 100], ['public.parted_2', 50], ['public.tick', 5000],
    ]);
    const run = restore('copy_one', dump, 'other.t');
    expect(run.stderr).toContain(`created database ${stagingDatabase('copy_one')}`);
    expect(run.status).toBe(0);
    expect(databases()).toContain(stagingDatabase('copy_one'));
    expect(databases()).not.toContain('copy_one');
    // Leaf tables from the rows inserted; the partitioned and the inheritance parent counted in the copy (with children).
    expect(run.output.tables().map((t) => [t.name, t.rows])).toEqual([
      ['other.t', 1], ['public.Odd "Name"', 3], ['public.base', 3], ['public.child', 1], ['public.empty_one', 0], ['public.parted', 150], ['public.parted_1', 100], ['public.parted_2', 50], ['public.tick', 5000],
    ]);
    const checks = compareTables(expected, run.output.tables());
    expect(checks.filter((t) => !t.ok)).toEqual([]);
    expect(checks.find((t) => t.name === 'other.t')?.checksum).toBe(expected.find((t) => t.name === 'other.t')?.checksum);
    execFileSync('sh', ['-c', PG_RENAME_SCRIPT, 'titan-pg-restored', 'postgres', stagingDatabase('copy_one'), 'copy_one'], { env });
    expect(databases()).toContain('copy_one');
    expect(databases()).not.toContain(stagingDatabase('copy_one'));
    expect(psql('copy_one', 'SELECT count(*) FROM tick')).toBe('5000');
    // A second restore under the same name is refused, nothing created.
    const again = restore('copy_one', dump, '');
    expect(again.status).toBe(65);
    expect(again.stderr).toContain('database copy_one already exists');
    expect(databases()).not.toContain(stagingDatabase('copy_one'));
  });

  it('a server that keeps no insert statistics (track_counts off): every table is counted in the copy', () => {
    const dump = execFileSync('pg_dump', ['-Fc', '-U', 'postgres', 'src'], { env });
    const run = restore('uncounted_one', dump, '', '-c track_counts=off');
    expect(run.status).toBe(0);
    expect(run.output.tables().map((t) => [t.name, t.rows])).toEqual([
      ['other.t', 1], ['public.Odd "Name"', 3], ['public.base', 3], ['public.child', 1], ['public.empty_one', 0], ['public.parted', 150], ['public.parted_1', 100], ['public.parted_2', 50], ['public.tick', 5000],
    ]);
    psql('postgres', `DROP DATABASE ${stagingDatabase('uncounted_one')}`);
  });

  it("pg_restore's session builds each index with 512 MB of sort memory, and keeps the settings the caller gave", () => {
    const dump = execFileSync('pg_dump', ['-Fc', '-U', 'postgres', 'src'], { env });
    const logged = readFileSync(join(dir, 'log'), 'utf8').length;
    // trace_sort (the caller's setting, kept) makes the server log each sort with its memory.
    const run = restore('sorted_one', dump, '', '-c trace_sort=on');
    expect(run.status).toBe(0);
    const log = readFileSync(join(dir, 'log'), 'utf8').slice(logged);
    expect(log).toMatch(/begin index sort: unique = t, workMem = 524288/);
    expect(log).not.toMatch(/workMem = 65536/);
    psql('postgres', `DROP DATABASE ${stagingDatabase('sorted_one')}`);
  });

  it('a dump cut short fails the script, and the database asked for never exists', () => {
    const dump = execFileSync('pg_dump', ['-Fc', '-U', 'postgres', 'src'], { env });
    const run = restore('cut_one', dump.subarray(0, Math.floor(dump.length / 2)), '');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/pg_restore failed|stopped at the statement/);
    expect(databases()).not.toContain('cut_one');
    expect(readFileSync(join(dir, 'log'), 'utf8')).not.toContain('PANIC');
  });
});
