/**
 * The HTTP layer under the typed client: the token, a timeout per request, DigitalOcean's rate
 * limit, and retries only where a retry cannot do a thing twice.
 *
 *  - 429 (the request was refused by the rate limiter, nothing was done): waited out as the answer
 *    says (`retry-after`, else `ratelimit-reset`) and sent again, for every method;
 *  - a 5xx answer or no answer at all: sent again only for GET, HEAD, PUT and DELETE (a PUT here
 *    replaces a whole resource, a DELETE of what is gone is a 404); a POST is never sent twice,
 *    because it may have created something: its failure is reported, and the next run finds what
 *    exists by tag;
 *  - `ratelimit-remaining: 0`: the next request waits until `ratelimit-reset` instead of drawing a 429.
 *
 * Every wait is logged with its reason; a wait longer than `maxWaitSeconds` is an error instead.
 */
import type { Logger } from '@titan/log/logger';
import { DigitalOceanRateLimitError, DigitalOceanUnreachableError } from './api-error.js';
import { readRateLimit, retryAfterSeconds, type RateLimitSnapshot } from './rate-limit.js';

export interface TransportOptions {
  readonly token: string;
  readonly logger: Logger;
  /** The longest single wait for the rate limit (seconds; 120). */
  readonly maxWaitSeconds?: number;
  /** Attempts after the first one (4). */
  readonly maxRetries?: number;
  /** The first back-off after a 5xx or a lost connection (ms; 500), doubled each time. */
  readonly retryDelayMs?: number;
  /** A request with no answer within this is abandoned (ms; 30,000). */
  readonly requestTimeoutMs?: number;
  readonly fetch?: (request: Request) => Promise<Response>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** What the transport sent, for summaries and benchmarks. */
export interface TransportStats {
  /** Requests sent, retries included. */
  requests: number;
  /** Requests that could change something (POST, PUT, PATCH, DELETE), retries included. */
  writes: number;
  retries: number;
  rateLimitWaits: number;
  lastRateLimit: RateLimitSnapshot | undefined;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRIED_STATUS = new Set([500, 502, 503, 504]);

export class ApiTransport {
  readonly stats: TransportStats = { requests: 0, writes: 0, retries: 0, rateLimitWaits: 0, lastRateLimit: undefined };
  private readonly maxWaitSeconds: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly send: (request: Request) => Promise<Response>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  private readonly options: TransportOptions;
  constructor(options: TransportOptions) {
    this.options = options;
    this.maxWaitSeconds = options.maxWaitSeconds ?? 120;
    this.maxRetries = options.maxRetries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.send = options.fetch ?? ((request) => fetch(request));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** The `fetch` openapi-fetch calls. */
  readonly fetch = async (request: Request): Promise<Response> => {
    const method = request.method.toUpperCase();
    const operation = `${method} ${new URL(request.url).pathname}`;
    const idempotent = IDEMPOTENT.has(method);
    for (let attempt = 0; ; attempt++) {
      await this.waitForWindow(operation);
      const outgoing = request.clone();
      outgoing.headers.set('authorization', `Bearer ${this.options.token}`);
      this.stats.requests++;
      if (!idempotent) this.stats.writes++;
      let response: Response;
      try {
        response = await this.send(new Request(outgoing, { signal: AbortSignal.timeout(this.requestTimeoutMs) }));
      } catch (error) {
        if (idempotent && attempt < this.maxRetries) {
          await this.backOff(operation, attempt, `no answer (${error instanceof Error ? error.message : String(error)})`);
          continue;
        }
        throw new DigitalOceanUnreachableError(operation, error, !idempotent);
      }
      this.stats.lastRateLimit = readRateLimit(response.headers) ?? this.stats.lastRateLimit;
      if (response.status === 429 && attempt < this.maxRetries) {
        const seconds = retryAfterSeconds(response.headers, this.now(), 2 ** attempt);
        if (seconds > this.maxWaitSeconds) {
          await response.body?.cancel();
          throw new DigitalOceanRateLimitError(operation, seconds, this.maxWaitSeconds);
        }
        await response.body?.cancel();
        this.stats.rateLimitWaits++;
        this.stats.retries++;
        this.options.logger.warning(`${operation}: rate limited by DigitalOcean (429): waiting ${seconds} s as it asks, then sending it again`);
        await this.sleep(seconds * 1000);
        // The wait the answer asked for is over: the window is open again for this request.
        if (this.stats.lastRateLimit !== undefined) this.stats.lastRateLimit = { ...this.stats.lastRateLimit, remaining: 1 };
        continue;
      }
      if (RETRIED_STATUS.has(response.status) && idempotent && attempt < this.maxRetries) {
        await response.body?.cancel();
        await this.backOff(operation, attempt, `DigitalOcean answered ${response.status}`);
        continue;
      }
      return response;
    }
  };

  private async backOff(operation: string, attempt: number, why: string): Promise<void> {
    const ms = this.retryDelayMs * 2 ** attempt;
    this.stats.retries++;
    this.options.logger.warning(`${operation}: ${why}; it changes nothing when repeated, so it is sent again in ${ms} ms (attempt ${attempt + 2} of ${this.maxRetries + 1})`);
    await this.sleep(ms);
  }

  /** When the last answer said the window is used up, wait until it resets. */
  private async waitForWindow(operation: string): Promise<void> {
    const last = this.stats.lastRateLimit;
    if (last === undefined || last.remaining > 0) return;
    const seconds = last.reset - Math.floor(this.now() / 1000);
    if (seconds <= 0) return;
    if (seconds > this.maxWaitSeconds) throw new DigitalOceanRateLimitError(operation, seconds, this.maxWaitSeconds);
    this.stats.rateLimitWaits++;
    this.options.logger.warning(`${operation}: DigitalOcean's rate limit window is used up (ratelimit-remaining 0): waiting ${seconds} s until it resets`);
    await this.sleep(seconds * 1000);
    this.stats.lastRateLimit = { ...last, remaining: 1 };
  }
}
