/**
 * What a restore on the host proves per table, without a second pass over the data where none is
 * needed: the dump is restored as SQL through psql (`pg_restore --file=- | psql --echo-queries`),
 * so every table's data arrives in a `COPY <table> (...) FROM stdin;` whose command tag
 * `COPY <rows>` is the number of rows the server stored for it. Those are the row counts of the
 * restored tables. A table is counted again (`count(*)` in the restored copy) only where the
 * COPY's count is not its row count or more is asked: a partitioned table or a table with
 * inheritance children (the source's count includes their rows), and a table whose checksum the
 * backup recorded (the checksum needs every row anyway).
 */
import type { TableFacts } from '@titan/backup/backup-manifest';

/** Printed on stdout between the restore's output and the facts of the tables counted again. */
export const FACTS_MARKER = 'titan-pg-restore: restored facts';

/**
 * Reads psql variable `tables` like TABLE_FACTS_QUERY ('*', '' or a list). Each statement prints
 * `<hex of schema.table>|<rows>|<checksum>`; rows is -1 where the COPY's count stands.
 */
export const RESTORED_FACTS_QUERY = `SELECT CASE WHEN chosen OR parent
  THEN format('SELECT %L, count(*), %s FROM %I.%I AS t', hex,
    CASE WHEN chosen THEN 'sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint)::text' ELSE 'NULL::text' END, nspname, relname)
  ELSE format('SELECT %L, -1, NULL::text', hex) END
FROM (
  SELECT encode(convert_to(n.nspname || '.' || c.relname, 'UTF8'), 'hex') AS hex, n.nspname, c.relname,
    :'tables' = '*' OR (n.nspname || '.' || c.relname) = ANY (string_to_array(:'tables', ',')) OR c.relname = ANY (string_to_array(:'tables', ',')) AS chosen,
    c.relkind = 'p' OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) AS parent
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
) AS tables
ORDER BY 1 \\gexec
`;

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[^\s."]+)`;
const COPY_STATEMENT = new RegExp(String.raw`^COPY (${IDENT})\.(${IDENT})(?: \(.*\))? +FROM stdin;?$`);
const COPY_TAG = /^COPY (\d+)$/;

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier;
}

/**
 * Reads the restore's stdout line by line: each echoed COPY statement and the command tag after it
 * (the row count), then, after FACTS_MARKER, the facts of the tables counted again.
 */
export class RestoreOutput {
  readonly #copied = new Map<string, number>();
  readonly #facts: { name: string; rows: number; checksum: string | null }[] = [];
  #copying: string | undefined;
  #inFacts = false;

  line(line: string): void {
    if (line === FACTS_MARKER) {
      this.#inFacts = true;
      this.#facts.length = 0;
      return;
    }
    if (this.#inFacts) {
      const [hex = '', rows = '', checksum = ''] = line.split('|');
      if (/^[0-9a-f]+$/.test(hex) && /^-?\d+$/.test(rows)) this.#facts.push({ name: Buffer.from(hex, 'hex').toString('utf8'), rows: Number(rows), checksum: checksum === '' ? null : checksum });
      return;
    }
    const statement = COPY_STATEMENT.exec(line);
    if (statement !== null) {
      this.#copying = `${unquote(statement[1] ?? '')}.${unquote(statement[2] ?? '')}`;
      return;
    }
    const tag = COPY_TAG.exec(line);
    if (tag !== null && this.#copying !== undefined) {
      this.#copied.set(this.#copying, (this.#copied.get(this.#copying) ?? 0) + Number(tag[1]));
    }
    this.#copying = undefined;
  }

  /** The rows COPY stored per table (`schema.table`). */
  get copied(): ReadonlyMap<string, number> {
    return this.#copied;
  }

  /**
   * Every restored table's facts: the count of the second pass where there was one, else the rows
   * its COPY stored (a table without a COPY has no count: it cannot match a recorded one).
   */
  tables(): TableFacts[] {
    return this.#facts
      .map((t) => ({ name: t.name, rows: t.rows >= 0 ? t.rows : (this.#copied.get(t.name) ?? Number.NaN), checksum: t.checksum }))
      .filter((t) => !Number.isNaN(t.rows));
  }
}
