/**
 * The migration scripts run for real with a stub `docker` standing in for the database container's
 * psql: what they send psql (one transaction: the history table, the file, its history row; values
 * as -v variables), the work record that names the session while it runs, the history read back as
 * records, and a stopped or missing database said at once with EXIT_NO_DATABASE.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatRecord, recordsOf } from '@titan/host/host-record';
import { MIGRATIONS_TABLE } from '@titan/host/migrations';
import { EXIT_NO_DATABASE } from '@titan/ssh/exit-status';
import { type LocalHost, localHost } from './support/local-host.js';

const SHA = 'a'.repeat(64);
let host: LocalHost;
afterEach(() => host.remove());

describe('titan-read-migrations', () => {
  it('says the history as `applied FILE SHA256` records, read from the running database container', () => {
    host = localHost('titan-migrations-');
    host.stub('docker', `case "$1" in ps) echo c0ffee ;; exec) cat > /dev/null; printf '0001_a.sql ${SHA}\\n0002_b.sql ${'b'.repeat(64)}\\n' ;; esac`);
    const run = host.run('titan-read-migrations', ['titan', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, '5']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(recordsOf(run.stdout, 'applied')).toEqual([['0001_a.sql', SHA], ['0002_b.sql', 'b'.repeat(64)]]);
    expect(host.calls('docker')).toEqual([
      'docker ps -q --filter label=com.docker.compose.project=titan --filter label=com.docker.compose.service=postgres',
      `docker exec -i c0ffee psql -X -q -v ON_ERROR_STOP=1 -A -t -U titan -d titan_db -v titan_table=${MIGRATIONS_TABLE}`,
    ]);
  });

  it('no history table yet: no records, exit 0', () => {
    host = localHost('titan-migrations-');
    host.stub('docker', 'case "$1" in ps) echo c0ffee ;; exec) cat > /dev/null ;; esac');
    const run = host.run('titan-read-migrations', ['titan', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, '5']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
  });

  it('a stopped container, or none: said at once, EXIT_NO_DATABASE', () => {
    host = localHost('titan-migrations-');
    host.stub('docker', 'case "$*" in "ps -aq "*) echo dead ;; esac');
    const stopped = host.run('titan-read-migrations', ['titan', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, '30']);
    expect(stopped.status).toBe(EXIT_NO_DATABASE);
    expect(stopped.stderr).toBe('the postgres container of project titan is stopped\n');
    host.stub('docker', 'exit 0');
    const none = host.run('titan-read-migrations', ['titan', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, '30']);
    expect(none.status).toBe(EXIT_NO_DATABASE);
    expect(none.stderr).toBe('project titan has no postgres container\n');
  });

  it('a container that does not accept connections within the wait: exit 1, said', () => {
    host = localHost('titan-migrations-');
    host.stub('docker', 'case "$1" in ps) echo c0ffee ;; exec) exit 2 ;; esac');
    const run = host.run('titan-read-migrations', ['titan', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, '1']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('postgres of project titan does not accept connections after 1 s\n');
  });
});

describe('titan-apply-migration', () => {
  it('sends psql the history table, the file and its row in one transaction, values as variables; the work is recorded while it runs', () => {
    host = localHost('titan-migrations-');
    const sql = `${host.root}/0001_a.sql`;
    writeFileSync(sql, "CREATE TABLE accounts (id int); -- it's here\n");
    const work = `${host.layout.stateDir}/work-abcdef01-migration`;
    // compose ps -q says the container; compose exec keeps what psql got and the work record then.
    host.stub('docker', `case "$*" in *" ps -q postgres") echo c0ffee ;; *" exec "*) cat > "$0.sql"; cp "${work}" "$0.work" ;; esac`);
    const run = host.run('titan-apply-migration', [sql, '0001_a.sql', SHA, 'r1', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, work, 'titan-migration-abcdef01', 'env', 'TITAN_MODE=DISARMED', 'docker', 'compose', '-p', 'titan']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const sent = host.read(`${host.bin}/docker.sql`);
    expect(sent).toMatch(/^SET client_min_messages TO warning;\nCREATE TABLE IF NOT EXISTS :"titan_table" \(/);
    expect(sent).toContain("CREATE TABLE accounts (id int); -- it's here\n\n;\nINSERT INTO :\"titan_table\" (file, sha256, release) VALUES (:'titan_file', :'titan_sha256', :'titan_release');\n");
    expect(host.calls('docker').pop()).toBe(
      `docker compose -p titan exec -T -e PGAPPNAME=titan-migration-abcdef01 postgres psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U titan -d titan_db -v titan_table=${MIGRATIONS_TABLE} -v titan_file=0001_a.sql -v titan_sha256=${SHA} -v titan_release=r1`,
    );
    expect(host.read(`${host.bin}/docker.work`)).toBe('c0ffee titan titan_db titan-migration-abcdef01\n');
    expect(existsSync(work)).toBe(false);
  });

  it('a migration psql refuses: its status, and the work record stays for the lock to end', () => {
    host = localHost('titan-migrations-');
    const sql = `${host.root}/0002_bad.sql`;
    writeFileSync(sql, 'BROKEN;\n');
    const work = `${host.layout.stateDir}/work-abcdef01-migration`;
    host.stub('docker', 'case "$*" in *" ps -q postgres") echo c0ffee ;; *" exec "*) cat > /dev/null; echo \'ERROR:  syntax error at or near "BROKEN"\' >&2; exit 3 ;; esac');
    const run = host.run('titan-apply-migration', [sql, '0002_bad.sql', SHA, 'r1', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, work, 'titan-migration-abcdef01', 'docker', 'compose']);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('syntax error at or near "BROKEN"');
    expect(existsSync(work)).toBe(true);
  });
});

describe('titan-check-migration-record', () => {
  it('says the history row as `recorded SHA256 RELEASE`, or nothing', () => {
    host = localHost('titan-migrations-');
    host.stub('docker', `cat > "$0.sql"; echo '${SHA} r1'`);
    const run = host.run('titan-check-migration-record', ['0001_a.sql', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, 'docker', 'compose', '-p', 'titan']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${formatRecord('recorded', SHA, 'r1')}\n`);
    expect(host.read(`${host.bin}/docker.sql`)).toBe(`SELECT sha256 || ' ' || release FROM :"titan_table" WHERE file = :'titan_file';\n`);
    host.stub('docker', 'cat > /dev/null');
    expect(host.run('titan-check-migration-record', ['0001_a.sql', 'postgres', 'titan', 'titan_db', MIGRATIONS_TABLE, 'docker', 'compose']).stdout).toBe('');
  });
});
