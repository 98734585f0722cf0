/**
 * One service's health endpoint judged from its answer (pure): HTTP 200, a JSON document with
 * status "ok", answering as the service itself where the spec asks; and what the report shows of it.
 */
import { excerpt, type HealthDocument } from './health-document.js';
import type { HealthEndpointSpec } from './health-endpoints.js';
import type { HealthResponse } from './health-request.js';
import type { EndpointSummary } from './verify-report.js';

export function judgeEndpoint(
  service: string,
  spec: HealthEndpointSpec,
  response: HealthResponse,
  document: HealthDocument | undefined,
): { ok: true } | { ok: false; cell: string; detail: string } {
  if (response.problem !== undefined) return { ok: false, cell: 'no answer', detail: `no answer (${response.problem})` };
  if (response.statusCode !== 200) {
    return { ok: false, cell: `HTTP ${response.statusCode ?? '?'}`, detail: `answered HTTP ${response.statusCode ?? '?'}, expected 200` };
  }
  if (document === undefined) return { ok: false, cell: 'not JSON', detail: 'the body is not a JSON object' };
  if (document.status !== 'ok') {
    const status = document.status === undefined ? 'no status' : `status "${excerpt(document.status, 40)}"`;
    return { ok: false, cell: status, detail: `the health document says ${status}, expected "ok"` };
  }
  if (spec.checkServiceName && document.service !== undefined && document.service !== service) {
    return {
      ok: false,
      cell: `answers as ${excerpt(document.service, 40)}`,
      detail: `the endpoint answers as service "${excerpt(document.service, 60)}", not ${service}: its published port is wired to another service`,
    };
  }
  return { ok: true };
}

export function endpointSummary(url: string, response: HealthResponse, document: HealthDocument | undefined): EndpointSummary {
  return {
    url,
    durationMs: response.durationMs,
    ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
    ...(document?.status !== undefined ? { status: document.status } : {}),
    ...(document?.mode !== undefined ? { mode: document.mode } : {}),
    ...(document?.policyHash !== undefined ? { policyHash: document.policyHash } : {}),
  };
}
