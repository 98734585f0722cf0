/**
 * An error that lists every problem it found at once (the secret files kept wrongly, the pending
 * migrations that break the content rule): the message for people, `problems` for the caller.
 */
export class ProblemsError<P> extends Error {
  // A field, not a parameter property: the benchmarks run these sources with Node's type stripping.
  readonly problems: readonly P[];

  constructor(message: string, problems: readonly P[]) {
    super(message);
    this.problems = problems;
  }
}
