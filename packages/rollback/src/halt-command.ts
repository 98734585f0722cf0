/**
 * The HARD_HALT command and its signed envelope, as sent on NATS:
 *
 *   {"command":<canonical JSON of the command>,"signature":"<hex HMAC-SHA256 of exactly those bytes>"}
 *
 * The command is `{actor, issuedAt, nonce, reason, runUrl, type: "HARD_HALT"}`, serialized as RFC 8785
 * canonical JSON (members sorted, no whitespace, UTF-8). The envelope is canonical JSON too, so the
 * signed bytes are found in it without parsing: everything between the leading `{"command":` and the
 * last `,"signature":"`. A receiver (openHardHalt) recomputes HMAC-SHA256(HMAC_SECRET, those bytes)
 * and compares it, in constant time, with `signature`; it refuses an `issuedAt` outside its freshness
 * window (older than HALT_MAX_AGE_MS, or further ahead than HALT_MAX_FUTURE_MS of clock skew) and a
 * nonce it has accepted before (an exact replay). The secret is the stack's HMAC_SECRET (what its
 * halt responder is started with). The acknowledgement is signed too: halt-acknowledgement.ts.
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
/** A receiver refuses a command issued longer ago than this. */
export const HALT_MAX_AGE_MS = 120_000;
/** ... or issued further in the future than this (clock skew between runner and host). */
export const HALT_MAX_FUTURE_MS = 30_000;

/** The nonces a receiver has accepted (at least those still inside its freshness window). */
export interface SeenNonces {
  has(nonce: string): boolean;
  add(nonce: string): unknown;
}

export interface ReceiveOptions {
  /** What the receiver has accepted before: a nonce in it is a replay. The accepted nonce is added. */
  readonly seen: SeenNonces;
  /** Default: the current time. */
  readonly now?: Date;
  readonly maxAgeMs?: number;
  readonly maxFutureMs?: number;
}
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
 * Checks an envelope as a receiver must: the signed bytes taken from the payload as they are, the
 * HMAC recomputed and compared in constant time, the command's shape, its freshness, and its nonce
 * never accepted before (the nonce is then remembered in `options.seen`). Returns the command;
 * throws HaltEnvelopeError saying which check refused it.
 */
export function openHardHalt(payload: Uint8Array | string, secret: string, options: ReceiveOptions): HardHaltCommand {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  const signed = Buffer.from(signedPart(text, ENVELOPE_HEAD), 'utf8');
  const signature = signatureOf(text);
  if (secret === '') throw new HaltEnvelopeError('the HMAC secret is empty');
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
  const issued = Date.parse(command.issuedAt);
  const now = (options.now ?? new Date()).getTime();
  if (!Number.isFinite(issued)) throw new HaltEnvelopeError('the command has no valid issuedAt');
  const maxAge = options.maxAgeMs ?? HALT_MAX_AGE_MS;
  if (now - issued > maxAge) throw new HaltEnvelopeError(`the command was issued ${Math.round((now - issued) / 1000)} s ago, more than the ${Math.round(maxAge / 1000)} s a HARD_HALT stays valid (stale, or replayed)`);
  const maxFuture = options.maxFutureMs ?? HALT_MAX_FUTURE_MS;
  if (issued - now > maxFuture) throw new HaltEnvelopeError(`the command is dated ${Math.round((issued - now) / 1000)} s in the future (clocks more than ${Math.round(maxFuture / 1000)} s apart?)`);
  if (options.seen.has(command.nonce)) throw new HaltEnvelopeError(`nonce ${command.nonce} was accepted before: this is a replay`);
  options.seen.add(command.nonce);
  return command as HardHaltCommand;
}

/** The signed bytes of an envelope whose object starts with `head`: up to its last `,"signature":"`. */
export function signedPart(text: string, head: string): string {
  const mark = text.lastIndexOf(SIGNATURE_MARK);
  if (!text.startsWith(head) || mark < 0 || !text.endsWith('"}')) {
    throw new HaltEnvelopeError(`not a signed envelope (${head}...,"signature":"...")`);
  }
  return text.slice(head.length, mark);
}

/** The envelope's signature: 64 hex digits. */
export function signatureOf(text: string): string {
  const signature = text.slice(text.lastIndexOf(SIGNATURE_MARK) + SIGNATURE_MARK.length, -2);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new HaltEnvelopeError('the signature is not 64 hex digits');
  return signature;
}
