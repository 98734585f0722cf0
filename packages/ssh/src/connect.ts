/**
 * Opening the one SSH connection to a host (connectSsh): the options checked before anything is
 * sent (host, port, user, the private key, the host key pins), then attempts (ssh-handshake.ts)
 * retried with exponential backoff on transient failures only (connection refused, timeouts, a
 * connection dropped during the handshake); never on a host key mismatch or an authentication
 * failure, and nothing after the connection is up is ever retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { Logger } from '@titan/log/logger';
import { ConnectError, SshConfigError } from './errors.js';
import { HostKeyPolicy } from './host-keys.js';
import { parseSshHost } from './host-name.js';
import type { SshConnection } from './connection.js';
import type { JumpHost, JumpLease } from './jump-host.js';
import { AttemptFailure, connectOnce, keyError } from './ssh-handshake.js';

const { utils } = ssh2;

export interface RetryOptions {
  /** Attempts in all (default 4). */
  attempts?: number;
  /** Delay before the second attempt (default 500 ms); doubles each time. */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 8 s). */
  maxDelayMs?: number;
}

export interface SshConnectOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** The private key, OpenSSH (or PEM) format. Never logged. */
  privateKey: string | Buffer;
  /** Passphrase of the private key, if it is encrypted. Never logged. */
  passphrase?: string;
  /**
   * Pinned host keys: known_hosts lines (a whole known_hosts text is fine), bare public keys or
   * `SHA256:` fingerprints. Several may apply (key rotation). Required: an empty list is refused.
   */
  hostKeys: readonly string[];
  logger: Logger;
  /** Time allowed for one attempt: TCP connect, key exchange and authentication (default 20 s). */
  connectTimeoutMs?: number;
  retry?: RetryOptions;
  /** Keepalive probe interval (default 10 s); the connection is declared lost after keepaliveCountMax unanswered probes. */
  keepaliveIntervalMs?: number;
  /** Default 3. */
  keepaliveCountMax?: number;
  /** Default timeout of every command (default 10 minutes). */
  commandTimeoutMs?: number;
  /** Time a killed remote process group gets between SIGTERM and SIGKILL (default 3 s). */
  killGraceMs?: number;
  /**
   * At most this many command channels at once; more wait their turn (default 8, below OpenSSH's
   * MaxSessions default of 10, keeping room for the channels that kill timed-out commands).
   */
  maxSessionChannels?: number;
  /**
   * A bastion to reach the host through (jump-host.ts): the host's connection runs over a channel
   * the bastion opens to `host`:`port` (as the bastion resolves and reaches them); the host key is
   * pinned as always. The bastion's one connection is shared with every other host reached through
   * the same JumpHost, and held until this connection closes.
   */
  via?: JumpHost;
}

/** The host key the server presented and that matched a pin. */
export interface AcceptedHostKey {
  keyType: string;
  fingerprint: string;
}

/** The checks made before anything is sent: host, port, user, the private key, the host key pins (SshConfigError). */
export function checkConnectOptions(options: SshConnectOptions): { port: number; policy: HostKeyPolicy } {
  if (options.host.length === 0) throw new SshConfigError('The SSH host is empty.');
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SshConfigError(`SSH port ${port} is not a TCP port (1-65535).`);
  if (options.username.length === 0) throw new SshConfigError('The SSH user name is empty.');
  const policy = HostKeyPolicy.fromEntries(options.hostKeys, options.host, port);
  // Checked without the passphrase first: decrypting runs bcrypt-pbkdf (about a second in pure JS),
  // which ssh2 does anyway when it connects; a wrong passphrase is then reported from there.
  const parsed = utils.parseKey(options.privateKey);
  if (parsed instanceof Error && !(options.passphrase !== undefined && /encrypted/i.test(parsed.message))) {
    throw keyError(options, parsed.message);
  }
  return { port, policy };
}

/**
 * Opens the one connection to a host: host key pinned (checked during key exchange, before any
 * authentication), public key authentication, keepalive. Retries with exponential backoff while the
 * host is unreachable or the handshake times out; fails at once on a host key mismatch
 * (HostKeyMismatchError), an authentication failure (AuthenticationError) or a configuration error
 * (SshConfigError). Other failures end in ConnectError.
 */
export async function connectSsh(given: SshConnectOptions): Promise<SshConnection> {
  const parsed = parseSshHost(given.host);
  if ('problem' in parsed) throw new SshConfigError(parsed.problem === 'is empty' ? 'The SSH host is empty.' : `The SSH host ${parsed.problem}.`);
  const options: SshConnectOptions = { ...given, host: parsed.host };
  const { port, policy } = checkConnectOptions(options);
  const logger = options.logger;
  if (policy.ignoredCertAuthorities > 0) {
    logger.warning(`${policy.ignoredCertAuthorities} @cert-authority known_hosts line(s) for ${options.host} ignored: host certificates are not accepted, pin the host's own key.`);
  }
  // Through a bastion: its one connection first (its key pinned; a failure names it), held until this connection closes.
  const lease: JumpLease | undefined = options.via === undefined ? undefined : await options.via.acquire();
  try {
    return await connectWithRetries(options, port, policy, lease);
  } catch (error: unknown) {
    await lease?.release();
    throw error;
  }
}

async function connectWithRetries(options: SshConnectOptions, port: number, policy: HostKeyPolicy, lease: JumpLease | undefined): Promise<SshConnection> {
  const logger = options.logger;
  const through = options.via === undefined ? '' : ` through the bastion ${options.via.label}`;
  const attempts = Math.max(1, options.retry?.attempts ?? 4);
  const initialDelay = options.retry?.initialDelayMs ?? 500;
  const maxDelay = options.retry?.maxDelayMs ?? 8000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      logger.debug(`connecting to ${options.username}@${options.host} port ${port}${through} (attempt ${attempt} of ${attempts})`);
      const connection = await connectOnce(options, port, policy, lease);
      logger.info(
        `Connected to ${options.username}@${options.host} port ${port}${through}; host key ${connection.hostKey.keyType} ${connection.hostKey.fingerprint} is pinned.`,
      );
      return connection;
    } catch (error: unknown) {
      if (!(error instanceof AttemptFailure)) throw error;
      if (error.final) throw error.final;
      if (!error.retryable || attempt >= attempts) {
        throw new ConnectError(options.host, port, attempt, `${error.message}${through === '' || error.message.includes('bastion') ? '' : ` (reached${through})`}`, { cause: error });
      }
      const base = Math.min(maxDelay, initialDelay * 2 ** (attempt - 1));
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      logger.info(`Connecting to ${options.host} port ${port} failed (${error.message}); retrying in ${delay} ms.`);
      await sleep(delay);
    }
  }
}
