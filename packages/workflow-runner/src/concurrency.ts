/**
 * Concurrency groups as GitHub keeps them for a repository: at most one job or run in progress per
 * group. A newcomer waits; with `queue: single` (the default) at most one waits and a newer one
 * cancels the one pending; with `queue: max` up to 100 wait and run in order. `cancel-in-progress`
 * cancels the one running. Every wait and cancellation is recorded for tests and the run log.
 */
export type QueueMode = 'single' | 'max';

export interface ConcurrencyRequest {
  readonly group: string;
  readonly cancelInProgress: boolean;
  readonly queue: QueueMode;
  /** Who asks, for the record (`run 3 deploy-production`). */
  readonly holder: string;
  /** Cancels the holder (its run) when a newer entrant cancels it. */
  readonly cancel: () => void;
}

export class ConcurrencyCancelled extends Error {
  override name = 'ConcurrencyCancelled';
}

interface Waiter {
  readonly request: ConcurrencyRequest;
  readonly admit: () => void;
  readonly reject: (error: Error) => void;
}

export const MAX_QUEUE = 100;

export class ConcurrencyGroups {
  private readonly running = new Map<string, ConcurrencyRequest>();
  private readonly waiting = new Map<string, Waiter[]>();
  readonly events: string[] = [];

  /** Resolves with a release function once the group is the requester's. */
  async acquire(request: ConcurrencyRequest): Promise<() => void> {
    const { group } = request;
    const current = this.running.get(group);
    if (current !== undefined && request.cancelInProgress) {
      this.events.push(`${group}: ${request.holder} cancels ${current.holder} (cancel-in-progress)`);
      current.cancel();
    }
    if (current === undefined) {
      this.running.set(group, request);
      this.events.push(`${group}: ${request.holder} runs`);
      return () => this.release(request);
    }
    const queue = this.waiting.get(group) ?? [];
    if (request.queue === 'single') {
      for (const pending of queue.splice(0)) {
        this.events.push(`${group}: ${request.holder} cancels pending ${pending.request.holder}`);
        pending.reject(new ConcurrencyCancelled(`Canceling since a higher priority waiting request for ${group} exists`));
      }
    } else if (queue.length >= MAX_QUEUE) {
      throw new ConcurrencyCancelled(`${group} already has ${MAX_QUEUE} runs waiting`);
    }
    this.waiting.set(group, queue);
    this.events.push(`${group}: ${request.holder} waits for ${current.holder}`);
    await new Promise<void>((admit, reject) => queue.push({ request, admit, reject }));
    return () => this.release(request);
  }

  private release(request: ConcurrencyRequest): void {
    const { group } = request;
    if (this.running.get(group) !== request) return;
    this.running.delete(group);
    this.events.push(`${group}: ${request.holder} done`);
    const next = this.waiting.get(group)?.shift();
    if (next !== undefined) {
      this.running.set(group, next.request);
      this.events.push(`${group}: ${next.request.holder} runs`);
      next.admit();
    }
  }
}
