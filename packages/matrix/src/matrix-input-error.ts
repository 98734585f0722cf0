/**
 * A mistake in what the caller handed the matrix: an invalid services.yml, a malformed digests
 * folder, a commit the clone does not have. The message says what is wrong, where, and how to fix
 * it; `topic` names the action input it is about, so an action can report it as a configuration
 * error against that input.
 */
export type MatrixInputTopic =
  | 'services-file'
  | 'registry'
  | 'sha'
  | 'ref'
  | 'default-branch'
  | 'platform'
  | 'since'
  | 'changed-files'
  | 'digests'
  | 'matrix';

export class MatrixInputError extends Error {
  override readonly name = 'MatrixInputError';

  readonly topic: MatrixInputTopic;
  readonly problems: readonly string[];
  constructor(
    topic: MatrixInputTopic,
    headline: string,
    /** Every problem found, one line each (the message lists them too). */
    problems: readonly string[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(
      problems.length === 0 ? headline : `${headline}\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.topic = topic;
    this.problems = problems;
  }
}

export function isMatrixInputError(error: unknown): error is MatrixInputError {
  return error instanceof MatrixInputError;
}
