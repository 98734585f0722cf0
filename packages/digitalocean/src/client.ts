/**
 * The typed DigitalOcean client: openapi-fetch over the types openapi-typescript generated from
 * DigitalOcean's own OpenAPI spec (spec/digitalocean-api.json), so every path, parameter, body
 * and answer is checked by the compiler against what the API declares. Under it, ApiTransport
 * adds the token, the rate limit and the retries that are safe.
 *
 *   const digitalocean = createDigitalOceanClient({ token, logger });
 *   const droplets = await listAll('GET /v2/droplets', (page) =>
 *     digitalocean.api.GET('/v2/droplets', { params: { query: { tag_name: 'titan-prod', page, per_page: 200 } } }),
 *     (data) => data.droplets);
 *   const created = expectData('POST /v2/droplets', await digitalocean.api.POST('/v2/droplets', { body }));
 */
import createClient, { type Client } from 'openapi-fetch';
import { DigitalOceanApiError } from './api-error.js';
import { ApiTransport, type TransportOptions } from './api-transport.js';
import type { paths } from '../generated/digitalocean-api.js';

export const DIGITALOCEAN_API_URL = 'https://api.digitalocean.com';

export interface DigitalOceanClientOptions extends TransportOptions {
  /** `https://api.digitalocean.com` unless a test double stands in. */
  readonly baseUrl?: string;
  readonly userAgent?: string;
}

export interface DigitalOceanClient {
  readonly api: Client<paths>;
  readonly transport: ApiTransport;
}

export function createDigitalOceanClient(options: DigitalOceanClientOptions): DigitalOceanClient {
  const transport = new ApiTransport(options);
  const api = createClient<paths>({
    baseUrl: options.baseUrl ?? DIGITALOCEAN_API_URL,
    fetch: transport.fetch,
    headers: { 'user-agent': options.userAgent ?? 'titan-actions', accept: 'application/json' },
  });
  return { api, transport };
}

/** What openapi-fetch returns for one call. */
export interface ApiResult<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The answer's body, or a DigitalOceanApiError that says what DigitalOcean refused and why. */
export function expectData<T>(operation: string, result: ApiResult<T>): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw apiError(operation, result);
}

/** For answers without a body (204): succeeds on any 2xx. */
export function expectOk(operation: string, result: ApiResult<unknown>): void {
  if (!result.response.ok) throw apiError(operation, result);
}

export function apiError(operation: string, result: ApiResult<unknown>): DigitalOceanApiError {
  const body = result.error;
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const id = typeof record.id === 'string' ? record.id : result.response.statusText || 'error';
  const message = typeof record.message === 'string' ? record.message : typeof body === 'string' && body !== '' ? body.slice(0, 300) : '(no message)';
  const requestId = typeof record.request_id === 'string' ? record.request_id : result.response.headers.get('x-request-id') ?? undefined;
  return new DigitalOceanApiError(operation, result.response.status, id, message, requestId);
}
