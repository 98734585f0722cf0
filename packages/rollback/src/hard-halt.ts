/**
 * Sends the HARD_HALT, first thing in every rollback mode: the signed envelope (halt-command.ts) as a
 * NATS request on the halt subject, which titan-brain acknowledges on the reply subject with
 * `{"ack":true,"nonce":"<the command's nonce>","service":"titan-brain"}`.
 *
 * NATS listens on the host's loopback only: the client (@nats-io/transport-node) connects to a local
 * forward, a 127.0.0.1:<free port> listener on the runner whose connections go through the SSH
 * connection (a direct-tcpip channel) to the NATS address as the host sees it. Nothing is installed
 * or run on the host, and the password and the HMAC secret never reach a command line there.
 *
 * This never throws for NATS: NATS unreachable, the user refused, no responder on the subject, no
 * acknowledgement within the timeout, or a reply that does not acknowledge this command all give
 * `acknowledged: false` and a `problem` the caller reports loudly; the shutdown goes on.
 */
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@titan/log/logger';
import type { SshConnection } from '@titan/ssh/connection';
import type { LocalForward } from '@titan/ssh/local-forward';
import { type HardHaltCommand, sealHardHalt } from './halt-command.js';
import { formatNatsAddress, type NatsAddress } from './nats-address.js';

export interface HaltRequest {
  /** NATS as the host sees it (e.g. 127.0.0.1:4222). */
  readonly address: NatsAddress;
  readonly user: string;
  /** Never logged. */
  readonly password: string;
  readonly subject: string;
  /** Never logged; signs the command. */
  readonly hmacSecret: string;
  readonly command: HardHaltCommand;
  /** Time for the whole exchange: connect, request, acknowledgement. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** What titan-brain answered. */
export interface HaltAcknowledgement {
  readonly ack: true;
  readonly nonce: string;
  readonly service: string;
}

export interface HaltOutcome {
  readonly subject: string;
  readonly nonce: string;
  readonly issuedAt: string;
  readonly acknowledged: boolean;
  readonly acknowledgement: HaltAcknowledgement | undefined;
  /** Why it was not acknowledged (a sentence), when it was not. */
  readonly problem: string | undefined;
  readonly durationMs: number;
}

export async function sendHardHalt(connection: SshConnection, request: HaltRequest): Promise<HaltOutcome> {
  const { logger, command, subject } = request;
  const started = performance.now();
  const where = `NATS at ${formatNatsAddress(request.address)} on ${connection.host}`;
  const sealed = sealHardHalt(command, request.hmacSecret);
  let forward: LocalForward | undefined;
  let nats: NatsConnection | undefined;
  const outcome = (fields: { acknowledgement?: HaltAcknowledgement; problem?: string }): HaltOutcome => ({
    subject,
    nonce: command.nonce,
    issuedAt: command.issuedAt,
    acknowledged: fields.acknowledgement !== undefined,
    acknowledgement: fields.acknowledgement,
    problem: fields.problem,
    durationMs: Math.round(performance.now() - started),
  });
  const remaining = (): number => Math.max(250, request.timeoutMs - (performance.now() - started));

  try {
    forward = await connection.forwardLocal(request.address.host, request.address.port);
    try {
      nats = await connect({
        servers: `127.0.0.1:${forward.localPort}`,
        user: request.user,
        pass: request.password,
        name: 'titan-rollback',
        timeout: remaining(),
        reconnect: false,
        maxReconnectAttempts: 0,
        ignoreClusterUpdates: true,
        noRandomize: true,
      });
    } catch (error: unknown) {
      return outcome({ problem: connectProblem(error, where, request.user) });
    }
    logger.info(`Connected to ${where} as ${request.user}; requesting HARD_HALT on ${subject} (nonce ${command.nonce}).`);
    let reply: Uint8Array;
    try {
      const message = await nats.request(subject, sealed.payload, { timeout: remaining() });
      reply = message.data;
    } catch (error: unknown) {
      return outcome({ problem: requestProblem(error, subject, request.timeoutMs) });
    }
    const acknowledgement = parseAcknowledgement(reply, command.nonce);
    if (typeof acknowledgement === 'string') return outcome({ problem: acknowledgement });
    return outcome({ acknowledgement });
  } catch (error: unknown) {
    return outcome({ problem: `${where} could not be reached through the SSH connection: ${describe(error)}` });
  } finally {
    await nats?.close().catch(() => undefined);
    await forward?.close();
  }
}

/** The reply as an acknowledgement of the command with `nonce`, or why it is not one. */
export function parseAcknowledgement(reply: Uint8Array, nonce: string): HaltAcknowledgement | string {
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
  if (record['ack'] !== true) {
    const why = typeof record['error'] === 'string' ? `: ${record['error']}` : '';
    return `the reply refuses the command${why} (${shown})`;
  }
  if (record['nonce'] !== nonce) return `the reply acknowledges another command (nonce ${JSON.stringify(record['nonce'])}, sent ${nonce})`;
  const service = typeof record['service'] === 'string' ? record['service'] : 'unknown';
  return { ack: true, nonce, service };
}

function connectProblem(error: unknown, where: string, user: string): string {
  if (error instanceof errors.AuthorizationError || /authorization/i.test(describe(error))) {
    return `${where} refused user ${user} (${describe(error)}): check nats-user and nats-password`;
  }
  return `${where} did not accept a connection: ${describe(error)}`;
}

function requestProblem(error: unknown, subject: string, timeoutMs: number): string {
  if (error instanceof errors.NoRespondersError || (error instanceof errors.RequestError && error.isNoResponders())) {
    return `nothing subscribes to ${subject} (no responders): titan-brain is not connected to NATS`;
  }
  if (error instanceof errors.TimeoutError || (error instanceof Error && error.cause instanceof errors.TimeoutError)) {
    return `no acknowledgement on ${subject} within ${Math.round(timeoutMs / 1000)} s`;
  }
  if (error instanceof errors.PermissionViolationError) return `NATS refused the request: ${error.message}`;
  return `the request on ${subject} failed: ${describe(error)}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
