/**
 * What went wrong talking to Spaces, in words an operator acts on: the credentials were refused, the
 * bucket does not exist, the endpoint cannot be reached, the store kept failing (5xx after every
 * retry), an object is missing. The message names the endpoint, bucket and key; never a credential.
 */

export type SpacesProblem = 'credentials' | 'bucket' | 'endpoint' | 'unavailable' | 'missing-object' | 'integrity' | 'other';

export class SpacesError extends Error {
  override readonly name = 'SpacesError';

  readonly problem: SpacesProblem;
  readonly status?: number;
  constructor(
    message: string,
    problem: SpacesProblem,
    /** The HTTP status the store answered, when it answered. */
    status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.problem = problem;
    this.status = status;
  }
}

export interface SpacesWhere {
  readonly endpoint: string;
  readonly bucket: string;
  readonly key?: string;
}

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
  cause?: unknown;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/** Turns an SDK (or network) error of `operation` into a SpacesError; a SpacesError is returned as it is. */
export function spacesError(error: unknown, operation: string, where: SpacesWhere): SpacesError {
  if (error instanceof SpacesError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const code = typeof shape.Code === 'string' ? shape.Code : typeof shape.code === 'string' ? shape.code : name;
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  const attempts = typeof shape.$metadata?.attempts === 'number' ? shape.$metadata.attempts : undefined;
  const detail = typeof shape.message === 'string' && shape.message !== '' && shape.message !== 'UnknownError' ? shape.message : code || String(error);
  const target = `bucket ${where.bucket} at ${where.endpoint}`;
  const object = where.key !== undefined ? `${where.key} in ${target}` : target;
  const cause = { cause: error };

  if (code === 'NoSuchBucket' || (status === 404 && where.key === undefined)) {
    return new SpacesError(`${operation}: the bucket ${where.bucket} does not exist at ${where.endpoint} (create it, or check spaces-bucket and spaces-endpoint).`, 'bucket', status, cause);
  }
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'Forbidden'].includes(code) || status === 403 || status === 401) {
    return new SpacesError(
      `${operation}: ${where.endpoint} refused the credentials for ${target} (${code || `HTTP ${status ?? '?'}`}): check spaces-access-key and spaces-secret-key, and that the key may use this bucket.`,
      'credentials',
      status,
      cause,
    );
  }
  if (code === 'NoSuchKey' || (status === 404 && where.key !== undefined)) {
    return new SpacesError(`${operation}: ${object} does not exist.`, 'missing-object', status, cause);
  }
  if (code === 'BadDigest' || code === 'InvalidDigest' || code === 'XAmzContentSHA256Mismatch') {
    return new SpacesError(`${operation}: ${object}: the store found the data damaged in transit (${code}).`, 'integrity', status, cause);
  }
  const network = networkCode(error);
  if (network !== undefined) {
    return new SpacesError(`${operation}: cannot reach ${where.endpoint} (${network}${detail !== network ? `: ${detail}` : ''}): check spaces-endpoint.`, 'endpoint', status, cause);
  }
  if (status !== undefined && status >= 500) {
    return new SpacesError(
      `${operation}: ${where.endpoint} kept failing for ${object} (HTTP ${status} ${code}${attempts !== undefined ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : ''}).`,
      'unavailable',
      status,
      cause,
    );
  }
  return new SpacesError(`${operation}: ${object}: ${detail}${status !== undefined ? ` (HTTP ${status})` : ''}.`, 'other', status, cause);
}

function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    const shape = current as SdkErrorShape;
    const code = typeof shape.code === 'string' ? shape.code : undefined;
    if (code !== undefined && CONNECTION_CODES.has(code)) return code;
    if (shape.name === 'TimeoutError' || code === 'TimeoutError') return 'timed out';
    current = shape.cause;
  }
  return undefined;
}
