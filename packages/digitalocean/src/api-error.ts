/**
 * What DigitalOcean said when it refused a request, with what a user should do about it. Every
 * failed call becomes one of these: the message names the operation, the status, DigitalOcean's
 * own error id and message, and a hint.
 */
export class DigitalOceanApiError extends Error {
  override readonly name = 'DigitalOceanApiError';

  readonly operation: string;
  readonly status: number;
  readonly errorId: string;
  readonly apiMessage: string;
  readonly requestId?: string;
  constructor(
    /** `GET /v2/droplets` */
    operation: string,
    status: number,
    /** DigitalOcean's error id (`unauthorized`, `too_many_requests`, `unprocessable_entity`, ...). */
    errorId: string,
    apiMessage: string,
    requestId?: string,
  ) {
    super(`${operation} failed: DigitalOcean answered ${status} ${errorId}: ${apiMessage}${requestId === undefined ? '' : ` (request id ${requestId})`}. ${hintFor(status)}`);
    this.operation = operation;
    this.status = status;
    this.errorId = errorId;
    this.apiMessage = apiMessage;
    this.requestId = requestId;
  }
}

/** A rate limit that would take longer to clear than the client is allowed to wait. */
export class DigitalOceanRateLimitError extends Error {
  override readonly name = 'DigitalOceanRateLimitError';

  readonly operation: string;
  readonly waitSeconds: number;
  readonly maxWaitSeconds: number;
  constructor(operation: string, waitSeconds: number, maxWaitSeconds: number) {
    super(
      `${operation}: DigitalOcean's rate limit is used up and asks to wait ${waitSeconds} s, more than the ${maxWaitSeconds} s this run may wait; ` +
        'nothing else was sent. Run again later, or raise the wait limit; other jobs using the same token share its limit (5,000 requests an hour, 250 a minute).',
    );
    this.operation = operation;
    this.waitSeconds = waitSeconds;
    this.maxWaitSeconds = maxWaitSeconds;
  }
}

/** A request that did not get an answer (connection refused, reset, timed out). */
export class DigitalOceanUnreachableError extends Error {
  override readonly name = 'DigitalOceanUnreachableError';

  readonly operation: string;
  readonly mayHaveTakenEffect: boolean;
  constructor(operation: string, cause: unknown, mayHaveTakenEffect: boolean) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `${operation}: no answer from DigitalOcean (${why}).` +
        (mayHaveTakenEffect ? ' The request may have taken effect: run again, the next run finds what exists by its tag.' : ''),
      { cause },
    );
    this.operation = operation;
    this.mayHaveTakenEffect = mayHaveTakenEffect;
  }
}

function hintFor(status: number): string {
  if (status === 401) return 'The token was refused: check that the DigitalOcean token secret is set, not expired or revoked, and has read and write scopes.';
  if (status === 403) return 'The token lacks a scope this operation needs: give it read and write scopes for Droplets, volumes, firewalls, domains and tags.';
  if (status === 404) return 'It does not exist (any more): check the name or id.';
  if (status === 422) return 'DigitalOcean refused the values: fix the input it names.';
  if (status === 429) return 'The rate limit was still exceeded after waiting: run again later.';
  if (status >= 500) return 'DigitalOcean failed on its side: run again; if it persists, see status.digitalocean.com.';
  return 'Fix the request it names.';
}
