/**
 * Sends the HARD_HALT, first thing in every rollback mode: the signed envelope (halt-command.ts) as a
 * NATS request on the halt subject, which the stack's halt responder (the stack profile's `halt`)
 * acknowledges on the reply subject with a signed acknowledgement bound to the command's nonce
 * (halt-acknowledgement.ts). Every reply within the timeout is looked at, in turn, until one is the
 * responder's valid acknowledgement: a reply from another service, an unsigned or forged one, or one
 * for another command does not count (each is reported), and does not hide the responder's answer.
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
import { type HaltAcknowledgement, openAcknowledgement } from './halt-acknowledgement.js';
import { type HardHaltCommand, sealHardHalt } from './halt-command.js';
import { formatNatsAddress, type NatsAddress } from './nats-address.js';

export interface HaltRequest {
  /** NATS as the host sees it (e.g. 127.0.0.1:4222). */
  readonly address: NatsAddress;
  readonly user: string;
  /** Never logged. */
  readonly password: string;
  readonly subject: string;
  /** The one service whose acknowledgement counts. */
  readonly responder: string;
  /** Never logged; signs the command. */
  readonly hmacSecret: string;
  readonly command: HardHaltCommand;
  /** Time for the whole exchange: connect, request, acknowledgement. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}


export interface HaltOutcome {
  readonly subject: string;
  readonly nonce: string;
  readonly issuedAt: string;
  readonly acknowledged: boolean;
  readonly acknowledgement: HaltAcknowledgement | undefined;
  /** Why it was not acknowledged (a sentence), when it was not. */
  readonly problem: string | undefined;
  /** Replies that were not the responder's valid acknowledgement, each with why. */
  readonly ignoredReplies: readonly string[];
  readonly durationMs: number;
}

export async function sendHardHalt(connection: SshConnection, request: HaltRequest): Promise<HaltOutcome> {
  const { logger, command, subject, responder } = request;
  const started = performance.now();
  const where = `NATS at ${formatNatsAddress(request.address)} on ${connection.host}`;
  const sealed = sealHardHalt(command, request.hmacSecret);
  let forward: LocalForward | undefined;
  let nats: NatsConnection | undefined;
  const ignoredReplies: string[] = [];
  const outcome = (fields: { acknowledgement?: HaltAcknowledgement; problem?: string }): HaltOutcome => ({
    subject,
    nonce: command.nonce,
    issuedAt: command.issuedAt,
    acknowledged: fields.acknowledgement !== undefined,
    acknowledgement: fields.acknowledgement,
    problem: fields.problem,
    ignoredReplies,
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
    try {
      const replies = await nats.requestMany(subject, sealed.payload, { strategy: 'timer', maxWait: remaining() });
      for await (const message of replies) {
        const acknowledgement = openAcknowledgement(message.data, command.nonce, request.hmacSecret, responder);
        if (typeof acknowledgement !== 'string') return outcome({ acknowledgement });
        ignoredReplies.push(acknowledgement);
        logger.warning(`A reply on ${subject} is not ${responder}'s acknowledgement, and does not count: ${acknowledgement}.`);
      }
    } catch (error: unknown) {
      return outcome({ problem: requestProblem(error, subject, responder, request.timeoutMs) });
    }
    const seconds = Math.round(request.timeoutMs / 1000);
    if (ignoredReplies.length === 0) return outcome({ problem: `no acknowledgement on ${subject} within ${seconds} s` });
    return outcome({
      problem: `no valid acknowledgement from ${responder} on ${subject} within ${seconds} s; ${ignoredReplies.length} reply(ies) did not count: ${ignoredReplies.join('; ')}`,
    });
  } catch (error: unknown) {
    return outcome({ problem: `${where} could not be reached through the SSH connection: ${describe(error)}` });
  } finally {
    await nats?.close().catch(() => undefined);
    await forward?.close();
  }
}

function connectProblem(error: unknown, where: string, user: string): string {
  if (error instanceof errors.AuthorizationError || /authorization/i.test(describe(error))) {
    return `${where} refused user ${user} (${describe(error)}): check nats-user and nats-password`;
  }
  return `${where} did not accept a connection: ${describe(error)}`;
}

function requestProblem(error: unknown, subject: string, responder: string, timeoutMs: number): string {
  if (error instanceof errors.NoRespondersError || (error instanceof errors.RequestError && error.isNoResponders())) {
    return `nothing subscribes to ${subject} (no responders): ${responder} is not connected to NATS`;
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
