/**
 * The facts a Postgres backup is proven against: the row count of every table, and an
 * order-independent checksum of the chosen ones (the sum, as a number, of the first 60 bits of each
 * row's md5; rows compared as text under fixed settings: UTC, ISO dates, exact floats, hex bytea).
 * The same psql query runs at the source, in the dump's own snapshot, and in the restored copy.
 * It reads the psql variable `tables`: '*' (all), '' (none) or a comma-separated list of table or
 * schema.table names. Each executed statement prints `<hex of schema.table>|<rows>|<checksum>`.
 */
import type { TableFacts } from './backup-manifest.js';

/** Settings under which rows render the same text in the source and in a restore. */
export const TABLE_FACTS_SETTINGS = `SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET bytea_output = 'hex';
`;

export const TABLE_FACTS_QUERY = `SELECT format('SELECT %L, count(*), %s FROM %I.%I AS t', encode(convert_to(n.nspname || '.' || c.relname, 'UTF8'), 'hex'),
  CASE WHEN :'tables' = '*' OR (n.nspname || '.' || c.relname) = ANY (string_to_array(:'tables', ',')) OR c.relname = ANY (string_to_array(:'tables', ','))
    THEN 'sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint)::text' ELSE 'NULL::text' END,
  n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1 \\gexec
`;

/** Facts from the query's output lines (`hex|rows|checksum`), sorted by table name. */
export function parseTableFacts(lines: readonly string[]): TableFacts[] {
  const tables: TableFacts[] = [];
  for (const line of lines) {
    const [hex = '', rows = '', checksum = ''] = line.split('|');
    if (!/^[0-9a-f]+$/.test(hex) || !/^\d+$/.test(rows)) continue;
    tables.push({ name: Buffer.from(hex, 'hex').toString('utf8'), rows: Number(rows), checksum: checksum === '' ? null : checksum });
  }
  return tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
