/**
 * The HARD_HALT command and its signed envelope, as sent on NATS:
 *
 *   {"command":<canonical JSON of the command>,"signature":"<hex HMAC-SHA256 of exactly those bytes>"}
 *
 * The command is `{actor, issuedAt, nonce, reason, runUrl, type: "HARD_HALT"}`, serialized as RFC 8785
 * canonical JSON (members sorted, no whitespace, UTF-8). The envelope is canonical JSON too, so the
 * signed bytes are found in it without parsing: everything between the leading `{"command":` and the
 * last `,"signature":"`. A receiver recomputes HMAC-SHA256(HMAC_SECRET, those bytes) and compares it,
 * in constant time, with `signature`; it rejects a nonce it has seen before and an `issuedAt` too far
 * in the past. The secret is the stack's HMAC_SECRET (what titan-brain is started with).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '@titan/release/canonical-json';

export const HARD_HALT = 'HARD_HALT';

export interface HardHaltCommand {
  readonly type: typeof HARD_HALT;
  /** Why the stack is halted, as the operator wrote it. */
  readonly reason: string;
  /** Who halted it (GITHUB_ACTOR). */
  readonly actor: string;
  /** The workflow run that halted it (empty outside a runner). */
  readonly runUrl: string;
  /** ISO 8601, UTC, milliseconds. */
  readonly issuedAt: string;
  /** 32 lower-case hex digits, fresh for every command: what the acknowledgement must echo. */
  readonly nonce: string;
}

export interface SealedHardHalt {
  readonly command: HardHaltCommand;
  /** The envelope's bytes: what is published. */
  readonly payload: Buffer;
  /** Hex HMAC-SHA256 of the command's canonical bytes. */
  readonly signature: string;
}

export const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const ENVELOPE_HEAD = '{"command":';
const SIGNATURE_MARK = ',"signature":"';

export class HaltEnvelopeError extends Error {
  override readonly name = 'HaltEnvelopeError';
}

export function createHardHalt(fields: { reason: string; actor: string; runUrl: string; issuedAt?: Date; nonce?: string }): HardHaltCommand {
  const nonce = fields.nonce ?? randomBytes(16).toString('hex');
  if (!NONCE_PATTERN.test(nonce)) throw new HaltEnvelopeError('a HARD_HALT nonce is 32 lower-case hex digits');
  return {
    type: HARD_HALT,
    reason: fields.reason,
    actor: fields.actor,
    runUrl: fields.runUrl,
    issuedAt: (fields.issuedAt ?? new Date()).toISOString(),
    nonce,
  };
}

/** The bytes that are signed: the command's canonical JSON. */
export function commandBytes(command: HardHaltCommand): Buffer {
  return Buffer.from(canonicalJson(command), 'utf8');
}

export function hmacHex(secret: string, bytes: Uint8Array): string {
  return createHmac('sha256', secret).update(bytes).digest('hex');
}

/** Signs the command with the HMAC secret and wraps it in the envelope. */
export function sealHardHalt(command: HardHaltCommand, secret: string): SealedHardHalt {
  if (secret === '') throw new HaltEnvelopeError('the HMAC secret is empty');
  const signature = hmacHex(secret, commandBytes(command));
  const payload = Buffer.from(canonicalJson({ command, signature }), 'utf8');
  return { command, payload, signature };
}

/**
 * Checks an envelope as a receiver does: the signed bytes taken from the payload as they are, the
 * HMAC recomputed and compared in constant time. Returns the command; throws HaltEnvelopeError.
 */
export function openHardHalt(payload: Uint8Array | string, secret: string): HardHaltCommand {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  const mark = text.lastIndexOf(SIGNATURE_MARK);
  if (!text.startsWith(ENVELOPE_HEAD) || mark < 0 || !text.endsWith('"}')) {
    throw new HaltEnvelopeError('not a HARD_HALT envelope ({"command":...,"signature":"..."})');
  }
  const signed = Buffer.from(text.slice(ENVELOPE_HEAD.length, mark), 'utf8');
  const signature = text.slice(mark + SIGNATURE_MARK.length, -2);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new HaltEnvelopeError('the signature is not 64 hex digits');
  const expected = Buffer.from(hmacHex(secret, signed), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new HaltEnvelopeError('the HMAC signature does not match the command (wrong secret, or the command was altered)');
  }
  let value: unknown;
  try {
    value = JSON.parse(signed.toString('utf8'));
  } catch {
    throw new HaltEnvelopeError('the signed command is not JSON');
  }
  const command = value as Partial<HardHaltCommand> | null;
  if (
    command === null ||
    typeof command !== 'object' ||
    command.type !== HARD_HALT ||
    typeof command.nonce !== 'string' ||
    !NONCE_PATTERN.test(command.nonce) ||
    typeof command.reason !== 'string' ||
    typeof command.actor !== 'string' ||
    typeof command.runUrl !== 'string' ||
    typeof command.issuedAt !== 'string'
  ) {
    throw new HaltEnvelopeError('the signed command is not a HARD_HALT command');
  }
  if (canonicalJson(command) !== signed.toString('utf8')) throw new HaltEnvelopeError('the signed command is not canonical JSON');
  return command as HardHaltCommand;
}
