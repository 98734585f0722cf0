/**
 * What a restore on the host proves per table, without a second pass over the data where none is
 * needed: the dump is restored by `pg_restore --dbname` into a staging database that did not exist
 * before the restore and that only the restore's own session wrote into, so the number of rows the
 * server inserted into each of its tables (the table's cumulative statistics,
 * pg_stat_get_tuples_inserted, written by each session as it ends) is the number of rows restored
 * into it. They are read only once every session of the restore has ended. A table is counted
 * again (`count(*)` in the restored copy) where that number is not its row count or more is asked:
 * a partitioned table or a table with inheritance children (the source's count includes their
 * rows), a table whose checksum the backup recorded (the checksum needs every row anyway), and
 * every table when the server keeps no such statistics (track_counts off).
 */
import type { TableFacts } from '@titan/backup/backup-manifest';

/** Printed on stdout before the facts of the restored tables. */
export const FACTS_MARKER = 'titan-pg-restore: restored facts';

/**
 * Waits (up to 60 s) until no other client session is connected to the current database: a
 * session's statistics are written as it ends, before it leaves pg_stat_activity.
 */
export const RESTORE_SESSIONS_ENDED = `DO $wait$
BEGIN
  FOR i IN 1..1200 LOOP
    PERFORM pg_stat_clear_snapshot();
    IF NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()) THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RAISE EXCEPTION 'the restore''s sessions on % did not end within 60 s', current_database();
END
$wait$;
SELECT pg_stat_clear_snapshot();
`;

/**
 * Reads psql variable `tables` like TABLE_FACTS_QUERY ('*', '' or a list). Each statement prints
 * `<hex of schema.table>|<rows>|<checksum>`.
 */
export const RESTORED_FACTS_QUERY = `SELECT CASE WHEN chosen OR parent OR NOT counted
  THEN format('SELECT %L, count(*), %s FROM %I.%I AS t', hex,
    CASE WHEN chosen THEN 'sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint)::text' ELSE 'NULL::text' END, nspname, relname)
  ELSE format('SELECT %L, pg_stat_get_tuples_inserted(%s), NULL::text', hex, oid) END
FROM (
  SELECT encode(convert_to(n.nspname || '.' || c.relname, 'UTF8'), 'hex') AS hex, n.nspname, c.relname, c.oid,
    :'tables' = '*' OR (n.nspname || '.' || c.relname) = ANY (string_to_array(:'tables', ',')) OR c.relname = ANY (string_to_array(:'tables', ',')) AS chosen,
    c.relkind = 'p' OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) AS parent,
    current_setting('track_counts')::boolean AS counted
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
) AS tables
ORDER BY 1 \\gexec
`;

/** Reads the restore's stdout line by line: after FACTS_MARKER, the facts of the restored tables. */
export class RestoreOutput {
  readonly #facts: TableFacts[] = [];
  #inFacts = false;

  line(line: string): void {
    if (line === FACTS_MARKER) {
      this.#inFacts = true;
      this.#facts.length = 0;
      return;
    }
    if (!this.#inFacts) return;
    const [hex = '', rows = '', checksum = ''] = line.split('|');
    if (/^[0-9a-f]+$/.test(hex) && /^\d+$/.test(rows)) this.#facts.push({ name: Buffer.from(hex, 'hex').toString('utf8'), rows: Number(rows), checksum: checksum === '' ? null : checksum });
  }

  /** Every restored table's facts (schema.table, rows, checksum where counted again). */
  tables(): TableFacts[] {
    return [...this.#facts];
  }
}
