/**
 * A job's `strategy.matrix` expanded into legs as GitHub expands it: the product of the axes, less
 * `exclude` (partial matches), then each `include` entry either extends the combinations it
 * agrees with (adding keys, never overwriting an axis value) or becomes a leg of its own. An empty
 * matrix is an error, as on GitHub (gate the job with `if:` instead).
 */
import type { PlainValue } from './expressions.js';

export type MatrixLeg = Record<string, PlainValue>;

export interface Strategy {
  readonly legs: MatrixLeg[];
  readonly failFast: boolean;
  readonly maxParallel: number | undefined;
}

type Dict = Record<string, PlainValue>;

function isDict(v: PlainValue | undefined): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const same = (a: PlainValue | undefined, b: PlainValue | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export function expandStrategy(strategy: PlainValue | undefined, jobId: string): Strategy | undefined {
  if (strategy === undefined || strategy === null) return undefined;
  if (!isDict(strategy)) throw new Error(`job ${jobId}: strategy must be a mapping`);
  const failFast = strategy['fail-fast'] !== false;
  const maxParallel = typeof strategy['max-parallel'] === 'number' ? strategy['max-parallel'] : undefined;
  const matrix = strategy['matrix'];
  if (matrix === undefined) return { legs: [{}], failFast, maxParallel };
  if (!isDict(matrix)) throw new Error(`job ${jobId}: strategy.matrix must be a mapping, got ${JSON.stringify(matrix)}`);
  const axes = Object.entries(matrix).filter(([k]) => k !== 'include' && k !== 'exclude');
  let legs: Dict[] = axes.length === 0 ? [] : [{}];
  for (const [key, values] of axes) {
    if (!Array.isArray(values) || values.length === 0) throw new Error(`job ${jobId}: Matrix vector '${key}' does not contain any values`);
    legs = legs.flatMap((leg) => values.map((v) => ({ ...leg, [key]: v })));
  }
  const exclude = matrix['exclude'];
  if (Array.isArray(exclude)) {
    legs = legs.filter((leg) => !exclude.some((ex) => isDict(ex) && Object.entries(ex).every(([k, v]) => same(leg[k], v))));
  }
  const include = matrix['include'];
  if (include !== undefined && !Array.isArray(include)) throw new Error(`job ${jobId}: strategy.matrix.include must be a sequence`);
  const axisKeys = new Set(axes.map(([k]) => k));
  const base = legs.map((leg) => ({ ...leg }));
  for (const entry of include ?? []) {
    if (!isDict(entry)) throw new Error(`job ${jobId}: every matrix include entry must be a mapping`);
    let matched = false;
    base.forEach((original, i) => {
      const agrees = Object.entries(entry).every(([k, v]) => !axisKeys.has(k) || same(original[k], v));
      if (agrees && axisKeys.size > 0) {
        matched = true;
        const leg = legs[i] ?? {};
        for (const [k, v] of Object.entries(entry)) if (!axisKeys.has(k)) leg[k] = v;
      }
    });
    if (!matched) legs.push({ ...entry });
  }
  if (legs.length === 0) throw new Error(`job ${jobId}: Matrix vector 'include' does not contain any values`);
  return { legs, failFast, maxParallel };
}

/** The leg's name as GitHub shows it: `build (web, 127.0.0.1:5000/shop/web, ...)`. */
export function legName(jobName: string, leg: MatrixLeg, hasMatrix: boolean): string {
  if (!hasMatrix) return jobName;
  const values = Object.values(leg).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  return `${jobName} (${values.join(', ')})`;
}
