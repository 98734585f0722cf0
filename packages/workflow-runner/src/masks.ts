/**
 * The runner's secret masking: every secret of the run and every value a step registered with
 * `::add-mask::` is replaced by `***` in the log (each line of a multi-line value on its own too).
 */
export class Masks {
  private readonly values: Set<string>;

  /** A job's masks start from the run's secrets; what its steps add stays in the job, as on a runner. */
  constructor(base?: Masks) {
    this.values = new Set(base?.values ?? []);
  }

  add(value: string): void {
    for (const part of [value, ...value.split(/\r?\n/)]) {
      const trimmed = part.trim();
      if (trimmed.length >= 3) this.values.add(trimmed);
    }
  }

  apply(line: string): string {
    let out = line;
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(value)) out = out.split(value).join('***');
    }
    return out;
  }
}
