/**
 * DigitalOcean's rate limit as its answers report it: `ratelimit-limit` (requests an hour),
 * `ratelimit-remaining` and `ratelimit-reset` (Unix seconds when the window frees up), and
 * `retry-after` (seconds) on a 429.
 */
export interface RateLimitSnapshot {
  readonly limit: number;
  readonly remaining: number;
  /** Unix seconds. */
  readonly reset: number;
}

export function readRateLimit(headers: Headers): RateLimitSnapshot | undefined {
  const limit = integerHeader(headers, 'ratelimit-limit');
  const remaining = integerHeader(headers, 'ratelimit-remaining');
  const reset = integerHeader(headers, 'ratelimit-reset');
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, reset };
}

/**
 * How long to wait after a 429: `retry-after` when given (seconds, or an HTTP date), else until
 * `ratelimit-reset`, else `fallbackSeconds`. Never negative.
 */
export function retryAfterSeconds(headers: Headers, nowMs: number, fallbackSeconds: number): number {
  const value = headers.get('retry-after');
  if (value !== null) {
    if (/^\d+$/.test(value.trim())) return Number.parseInt(value.trim(), 10);
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - nowMs) / 1000));
  }
  const reset = integerHeader(headers, 'ratelimit-reset');
  if (reset !== undefined) return Math.max(0, reset - Math.floor(nowMs / 1000));
  return fallbackSeconds;
}

function integerHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number.parseInt(value.trim(), 10);
}
