/**
 * The acknowledgement of a HARD_HALT, signed like the command (halt-command.ts) with the stack's
 * HMAC_SECRET, and bound to the command by its nonce:
 *
 *   {"acknowledgement":<canonical JSON of the body>,"signature":"<hex HMAC-SHA256 of exactly those bytes>"}
 *
 * The body is `{"ack":true,"nonce":"<the command's nonce>","service":"<who answers>","type":"HARD_HALT_ACK"}`;
 * its `type` keeps an acknowledgement from ever passing for a command signed with the same secret.
 * Only an acknowledgement from the stack's halt responder counts (the stack profile's
 * `halt.responder`: in examples/titan its orchestrator, the one service that stops the strategies); any other service, a signature that does
 * not check, another nonce, or an unsigned `{"ack":true}` is not an acknowledgement. A refusal is
 * answered unsigned, `{"ack":false,"error":"...","service":"..."}`: it needs no proof to be believed.
 */
import { timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '@titan/release/canonical-json';
import { HaltEnvelopeError, hmacHex, NONCE_PATTERN, signatureOf, signedPart } from './halt-command.js';

export const HARD_HALT_ACK = 'HARD_HALT_ACK';

const ENVELOPE_HEAD = '{"acknowledgement":';

/** A checked acknowledgement. */
export interface HaltAcknowledgement {
  readonly ack: true;
  readonly nonce: string;
  readonly service: string;
}

/** The signed acknowledgement of the command with `nonce`, as `service` answers it. */
export function sealAcknowledgement(nonce: string, service: string, secret: string): Buffer {
  if (!NONCE_PATTERN.test(nonce)) throw new HaltEnvelopeError('a HARD_HALT nonce is 32 lower-case hex digits');
  if (secret === '') throw new HaltEnvelopeError('the HMAC secret is empty');
  const acknowledgement = { ack: true, nonce, service, type: HARD_HALT_ACK };
  return Buffer.from(canonicalJson({ acknowledgement, signature: hmacHex(secret, Buffer.from(canonicalJson(acknowledgement), 'utf8')) }), 'utf8');
}

/**
 * The reply as the acknowledgement of the command with `nonce` by the halt responder, or why it is
 * not one (a sentence that never quotes more than 200 characters of the reply).
 */
export function openAcknowledgement(reply: Uint8Array, nonce: string, secret: string, responder: string): HaltAcknowledgement | string {
  const text = Buffer.from(reply).toString('utf8');
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `the reply is not JSON: ${JSON.stringify(shown)}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `the reply is not a JSON object: ${shown}`;
  const record = value as Record<string, unknown>;
  const from = typeof record['service'] === 'string' ? ` from ${record['service']}` : '';
  if (record['ack'] === false) {
    const why = typeof record['error'] === 'string' ? `: ${record['error']}` : '';
    return `the reply${from} refuses the command${why}`;
  }
  if (!('acknowledgement' in record)) return `the reply${from} is not a signed acknowledgement (${shown})`;
  let signed: string;
  let signature: string;
  try {
    signed = signedPart(text, ENVELOPE_HEAD);
    signature = signatureOf(text);
  } catch (error: unknown) {
    return `the reply is not a signed acknowledgement: ${error instanceof Error ? error.message : String(error)}`;
  }
  const expected = Buffer.from(hmacHex(secret, Buffer.from(signed, 'utf8')), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return "the acknowledgement's HMAC signature does not check with hmac-secret (forged, or signed with another secret)";
  }
  const body = record['acknowledgement'] as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object' || body['ack'] !== true || body['type'] !== HARD_HALT_ACK || typeof body['service'] !== 'string') {
    return 'the signed reply is not a HARD_HALT acknowledgement';
  }
  if (canonicalJson(body) !== signed) return 'the signed acknowledgement is not canonical JSON';
  if (body['nonce'] !== nonce) return `the reply acknowledges another command (nonce ${JSON.stringify(body['nonce'])}, sent ${nonce})`;
  if (body['service'] !== responder) return `the acknowledgement comes from ${body['service']}, not ${responder}: only ${responder}'s counts`;
  return { ack: true, nonce, service: body['service'] };
}
