/**
 * The phases of a run on a host (a deploy, a rollback, a backup, a restore) with their start and
 * duration: logged as groups while they run, then shown as the job summary's timeline and recorded
 * in the journal.
 */
import type { Logger } from '@titan/log/logger';

export type PhaseOutcome = 'ok' | 'failed' | 'skipped';

export interface PhaseRecord {
  readonly name: string;
  /** Milliseconds since the deploy started. */
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly outcome: PhaseOutcome;
  /** Work that ran alongside the phases (no log group of its own). */
  readonly background?: boolean;
}

/** How background work ended: its value, or the error it threw. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The value of background work, or its error thrown (for the phase that needs it). */
export function settled<T>(result: Settled<T> | undefined): T {
  if (result === undefined) throw new Error('background work that was never started');
  if (result.ok) return result.value;
  throw result.error;
}

export class PhaseClock {
  readonly #origin: number;
  readonly #logger: Logger;
  readonly #records: PhaseRecord[] = [];
  #current: string | undefined;

  constructor(logger: Logger, origin = performance.now()) {
    this.#logger = logger;
    this.#origin = origin;
  }

  /** Runs one phase inside a log group and records how long it took and how it ended. */
  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    let outcome: PhaseOutcome = 'failed';
    this.#current = name;
    try {
      const value = await this.#logger.group(name, work);
      outcome = 'ok';
      return value;
    } finally {
      if (this.#current === name) this.#current = undefined;
      this.#records.push({
        name,
        startedAtMs: Math.round(start - this.#origin),
        durationMs: Math.round(performance.now() - start),
        outcome,
      });
    }
  }

  /**
   * Starts work that runs alongside the next phases (no log group of its own). The returned promise
   * never rejects: it settles to the value or the error, for the phase that needs it.
   */
  background<T>(name: string, work: () => Promise<T>): Promise<Settled<T>> {
    const start = performance.now();
    const record = (outcome: PhaseOutcome): void => {
      this.#records.push({ name, startedAtMs: Math.round(start - this.#origin), durationMs: Math.round(performance.now() - start), outcome, background: true });
    };
    return work().then(
      (value) => {
        record('ok');
        return { ok: true as const, value };
      },
      (error: unknown) => {
        record('failed');
        return { ok: false as const, error };
      },
    );
  }

  /** Records a phase that did not need to run. */
  skip(name: string): void {
    this.#records.push({ name, startedAtMs: Math.round(performance.now() - this.#origin), durationMs: 0, outcome: 'skipped' });
  }

  /** The phase running now, if any (a cancellation says where it arrived). */
  get current(): string | undefined {
    return this.#current;
  }

  /** The last phase that ran or runs (where a run stood when something arrived between phases). */
  get latest(): string | undefined {
    return this.#current ?? this.#records.filter((r) => r.outcome !== 'skipped' && !r.background).at(-1)?.name;
  }

  get records(): readonly PhaseRecord[] {
    return this.#records;
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.#origin);
  }

  /** Phase name -> milliseconds (a phase run twice adds up). */
  durations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#records) if (r.outcome !== 'skipped') out[r.name] = (out[r.name] ?? 0) + r.durationMs;
    return out;
  }
}
