/** What the API double's handlers take and give: a validated request, an answer, DigitalOcean's error body. */
import { randomUUID } from 'node:crypto';

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

export interface DoubleRequest {
  readonly operationId: string;
  readonly path: Record<string, string>;
  readonly query: Record<string, string | string[]>;
  readonly body: unknown;
  readonly baseUrl: string;
}

export type Json = Record<string, unknown>;

/** A timestamp as DigitalOcean writes them (seconds, Z). */
export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export const error = (status: number, id: string, message: string): Answer => ({ status, body: { id, message, request_id: randomUUID() } });
