import type { MatrixLeg, StrategyMatrix } from './build-plan.js';
import { MatrixInputError } from './matrix-input-error.js';

const LEG_FIELDS = ['service', 'image', 'context', 'dockerfile', 'build-args', 'tags', 'cache-key'] as const;

/** Reads the `matrix` output of a plan back (for a record step that checks it got every leg). */
export function parseStrategyMatrix(text: string): StrategyMatrix {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new MatrixInputError('matrix', `the matrix is not JSON (${error instanceof Error ? error.message : String(error)}): pass the plan step's matrix output as it is`);
  }
  const include = typeof value === 'object' && value !== null && 'include' in value ? value.include : undefined;
  if (!Array.isArray(include)) throw new MatrixInputError('matrix', 'the matrix has no include list: pass the plan step\'s matrix output as it is');
  const legs: MatrixLeg[] = [];
  include.forEach((leg: unknown, i) => {
    if (typeof leg !== 'object' || leg === null) throw new MatrixInputError('matrix', `matrix include[${i}] is not an object`);
    const record = leg as Record<string, unknown>;
    for (const field of LEG_FIELDS) {
      if (typeof record[field] !== 'string') throw new MatrixInputError('matrix', `matrix include[${i}] has no string "${field}"`);
    }
    legs.push(record as unknown as MatrixLeg);
  });
  return { include: legs };
}
