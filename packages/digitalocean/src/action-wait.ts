/**
 * DigitalOcean does slow things (create a Droplet, attach a volume, snapshot it) as actions:
 * `in-progress`, then `completed` or `errored`. waitForAction polls one until it ends, with a
 * deadline, logging progress; an errored or overdue action is an error naming the action, what it
 * was doing and what to do.
 */
import type { Logger } from '@titan/log/logger';
import type { DigitalOceanClient } from './client.js';
import { expectData } from './client.js';
import type { components } from '../generated/digitalocean-api.js';

export type Action = components['schemas']['action'];

export interface PollOptions {
  readonly logger: Logger;
  /** Give up after this long (ms). */
  readonly timeoutMs: number;
  /** Time between polls (ms; 2,000). */
  readonly intervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export class ActionFailedError extends Error {
  override readonly name = 'ActionFailedError';
  readonly action: Action;
  readonly what: string;
  constructor(action: Action, what: string) {
    super(
      `DigitalOcean action ${action.id} (${action.type ?? 'unknown type'} of ${action.resource_type ?? 'resource'} ${action.resource_id ?? '?'}) ` +
        `for ${what} ended "${action.status}". DigitalOcean did not say why; see the resource's history in the control panel, then run again: ` +
        'a run converges from whatever exists.',
    );
    this.action = action;
    this.what = what;
  }
}

export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
  readonly what: string;
  readonly timeoutMs: number;
  readonly lastState: string;
  constructor(what: string, timeoutMs: number, lastState: string) {
    super(`${what} did not finish within ${Math.round(timeoutMs / 1000)} s (last state: ${lastState}). Nothing was undone: run again to converge, or look at it in the control panel.`);
    this.what = what;
    this.timeoutMs = timeoutMs;
    this.lastState = lastState;
  }
}

const sleeper = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitForAction(client: DigitalOceanClient, actionId: number, what: string, options: PollOptions): Promise<Action> {
  const sleep = options.sleep ?? sleeper;
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  for (let poll = 0; ; poll++) {
    const { action } = expectData(
      `GET /v2/actions/${actionId}`,
      await client.api.GET('/v2/actions/{action_id}', { params: { path: { action_id: actionId } } }),
    );
    if (action === undefined) throw new Error(`GET /v2/actions/${actionId}: the answer holds no action`);
    const last = action.status ?? 'unknown';
    if (action.status === 'completed') return action;
    if (action.status === 'errored') throw new ActionFailedError(action, what);
    if (now() >= deadline) throw new PollTimeoutError(`DigitalOcean action ${actionId} (${what})`, options.timeoutMs, last);
    if (poll % 5 === 0) options.logger.info(`waiting for ${what} (action ${actionId}: ${last})`);
    await sleep(options.intervalMs ?? 2000);
  }
}

/** Polls `read` until `done` holds, with the same deadline and logging as actions. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, describe: (value: T) => string, options: PollOptions): Promise<T> {
  const sleep = options.sleep ?? sleeper;
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  for (let poll = 0; ; poll++) {
    const value = await read();
    if (done(value)) return value;
    if (now() >= deadline) throw new PollTimeoutError(what, options.timeoutMs, describe(value));
    if (poll % 5 === 0) options.logger.info(`waiting for ${what} (${describe(value)})`);
    await sleep(options.intervalMs ?? 2000);
  }
}
