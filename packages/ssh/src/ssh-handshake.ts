/**
 * One attempt at an SSH connection: a TCP socket of our own with TCP_NODELAY set (with Nagle's
 * algorithm on, every small request waits for the peer's delayed ACK, ~40 ms per round trip), the
 * key exchange with the host key checked against the pins before any authentication, public key
 * authentication and keepalive. A failure says whether another attempt may help (AttemptFailure).
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import { AuthenticationError, type HostKeyMismatchError, SshConfigError, describeError } from './errors.js';
import type { HostKeyPolicy } from './host-keys.js';
import type { AcceptedHostKey, SshConnectOptions } from './connect.js';
import { SshConnection } from './connection.js';
import { JumpForwardError, type JumpLease } from './jump-host.js';

const { Client } = ssh2;

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/** A failure of one connection attempt, flagged retryable or not. */
export class AttemptFailure extends Error {
  readonly retryable: boolean;
  readonly final: Error | undefined;

  constructor(message: string, retryable: boolean, final?: Error) {
    super(message);
    this.retryable = retryable;
    this.final = final;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

function errorLevel(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'level' in error) {
    return typeof error.level === 'string' ? error.level : undefined;
  }
  return undefined;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AttemptFailure(`TCP connect timed out after ${timeoutMs} ms`, true));
    }, timeoutMs);
    const onError = (error: Error): void => {
      clearTimeout(timer);
      const code = errorCode(error);
      reject(new AttemptFailure(`${code ?? 'error'}: ${error.message}`, code !== undefined && RETRYABLE_CODES.has(code)));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

export function keyError(options: SshConnectOptions, detail: string): SshConfigError {
  // ssh2's messages here are fixed texts ("Bad passphrase", "Unsupported key format"): never key material.
  const reason = detail.replace(/^Cannot parse privateKey: /, '').replace(/\.$/, '');
  return new SshConfigError(`The SSH private key for ${options.username}@${options.host} cannot be used: ${reason}.`);
}

/** A channel from the bastion to the host, in place of a TCP socket (a refused forward names both hops). */
async function tunnelConnect(lease: JumpLease, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  try {
    return await lease.openTunnel(host, port, timeoutMs);
  } catch (error: unknown) {
    if (error instanceof JumpForwardError) throw new AttemptFailure(error.message, error.retryable, error.retryable ? undefined : error);
    throw new AttemptFailure(describeError(error), false, error instanceof Error ? error : new Error(describeError(error)));
  }
}

export async function connectOnce(options: SshConnectOptions, port: number, policy: HostKeyPolicy, lease?: JumpLease): Promise<SshConnection> {
  const timeoutMs = options.connectTimeoutMs ?? 20_000;
  const started = performance.now();
  const socket = lease === undefined ? await tcpConnect(options.host, port, timeoutMs) : await tunnelConnect(lease, options.host, port, timeoutMs);
  const client = new Client();
  let refused: HostKeyMismatchError | undefined;
  let accepted: AcceptedHostKey | undefined;

  return new Promise<SshConnection>((resolve, reject) => {
    let done = false;
    const detach = (): void => {
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const fail = (failure: AttemptFailure): void => {
      if (done) return;
      done = true;
      detach();
      client.on('error', () => undefined); // late errors of an abandoned attempt
      socket.destroy();
      reject(failure);
    };
    const onReady = (): void => {
      if (done) return;
      done = true;
      detach();
      // The connection attaches its own error/close handlers synchronously, before any other event.
      resolve(
        new SshConnection({
          client,
          socket,
          options,
          hostKey: accepted ?? { keyType: 'unknown', fingerprint: 'unknown' },
          ...(lease !== undefined ? { onClosed: () => lease.release() } : {}),
        }),
      );
    };
    const onError = (error: unknown): void => {
      if (refused) {
        fail(new AttemptFailure(refused.message, false, refused));
        return;
      }
      const level = errorLevel(error);
      const message = describeError(error);
      if (level === 'client-authentication') {
        fail(new AttemptFailure(message, false, new AuthenticationError(options.host, port, options.username, message)));
      } else if (level === 'client-timeout') {
        fail(new AttemptFailure(`handshake timed out: ${message}`, true));
      } else if (level === 'client-socket') {
        const code = errorCode(error);
        fail(new AttemptFailure(`${code ?? 'socket error'}: ${message}`, code === undefined || RETRYABLE_CODES.has(code)));
      } else {
        fail(new AttemptFailure(`SSH handshake failed: ${message}`, false));
      }
    };
    const onClose = (): void => {
      if (refused) fail(new AttemptFailure(refused.message, false, refused));
      else fail(new AttemptFailure('the server closed the connection during the handshake', true));
    };
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    try {
      client.connect({
        sock: socket,
        host: options.host,
        port,
        username: options.username,
        privateKey: options.privateKey,
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
        tryKeyboard: false,
        readyTimeout: Math.max(1000, timeoutMs - (performance.now() - started)),
        keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
        algorithms: { serverHostKey: policy.hostKeyAlgorithms() as ssh2.ServerHostKeyAlgorithm[] },
        hostVerifier: (key: Buffer): boolean => {
          const verdict = policy.check(key);
          if (verdict.accepted) {
            accepted = { keyType: verdict.keyType, fingerprint: verdict.fingerprint };
            return true;
          }
          refused = verdict.error;
          return false;
        },
      });
    } catch (error: unknown) {
      const message = describeError(error);
      if (message.startsWith('Cannot parse privateKey')) fail(new AttemptFailure(message, false, keyError(options, message)));
      else fail(new AttemptFailure(`SSH client set-up failed: ${message}`, false));
    }
  });
}
