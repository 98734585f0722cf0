/**
 * The one output record format of the host scripts (scripts/lib/record.sh writes it): a line
 * `titan:KIND`, then each value after a tab; a value holds no tab or line break. Everything else a
 * script prints is text for people (logged, never parsed).
 */

export const RECORD_PREFIX = 'titan:';

export interface HostRecord {
  readonly kind: string;
  readonly values: readonly string[];
}

/** The record on `line`, or undefined when the line is not one. */
export function parseRecord(line: string): HostRecord | undefined {
  if (!line.startsWith(RECORD_PREFIX)) return undefined;
  const [kind = '', ...values] = line.slice(RECORD_PREFIX.length).replace(/\r$/, '').split('\t');
  return kind === '' ? undefined : { kind, values };
}

/** Every record in a script's output, in order. */
export function hostRecords(output: string): HostRecord[] {
  return output.split('\n').flatMap((line) => parseRecord(line) ?? []);
}

/** The values of every record of `kind`, in order. */
export function recordsOf(output: string, kind: string): (readonly string[])[] {
  return hostRecords(output)
    .filter((r) => r.kind === kind)
    .map((r) => r.values);
}

/** The values of the last record of `kind`, or undefined when there is none. */
export function lastRecord(output: string, kind: string): readonly string[] | undefined {
  return recordsOf(output, kind).pop();
}

/** The line scripts/lib/record.sh writes for `kind` and `values` (what the readers' tests feed them). */
export function formatRecord(kind: string, ...values: readonly string[]): string {
  return [`${RECORD_PREFIX}${kind}`, ...values.map((v) => v.replace(/[\t\n]/g, ' '))].join('\t');
}
