/**
 * The health document a Titan service serves: `{"status","service","policyHash","mode"}` (nats:
 * `{"status":"ok"}`). Read leniently (unknown members ignored); judged strictly: only
 * `"status": "ok"` is healthy.
 */
export interface HealthDocument {
  readonly status?: string;
  readonly service?: string;
  readonly policyHash?: string;
  readonly mode?: string;
}

/** The document, or undefined when the body is not a JSON object. */
export function parseHealthDocument(body: string): HealthDocument | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof record[key] === 'string' ? record[key] : undefined);
  const document: { -readonly [K in keyof HealthDocument]: HealthDocument[K] } = {};
  const status = text('status');
  const service = text('service');
  const policyHash = text('policyHash');
  const mode = text('mode');
  if (status !== undefined) document.status = status;
  if (service !== undefined) document.service = service;
  if (policyHash !== undefined) document.policyHash = policyHash;
  if (mode !== undefined) document.mode = mode;
  return document;
}

/** One line of at most `max` characters, control characters shown as spaces. */
export function excerpt(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
