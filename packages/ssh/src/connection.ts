/**
 * One SSH connection to one host, host key pinned. Every command, upload and tunnel is a channel on
 * this one connection. ssh2 is handed a socket of our own with TCP_NODELAY set: with Nagle's
 * algorithm on, every small request waits for the peer's delayed ACK (~40 ms per round trip).
 *
 * Connecting retries with exponential backoff on transient failures only (connection refused,
 * timeouts, a connection dropped during the handshake); never on a host key mismatch or an
 * authentication failure, and nothing after the connection is up is ever retried.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '@titan/log/logger';
import {
  AuthenticationError,
  ConnectError,
  ConnectionLostError,
  HostKeyMismatchError,
  SshConfigError,
  SshError,
  TunnelError,
  describeError,
} from './errors.js';
import { HostKeyPolicy } from './host-keys.js';
import { parseSshHost } from './host-name.js';
import { type LocalForward, startLocalForward } from './local-forward.js';
import { REMOTE_PATH, type RemoteCommand, type RemoteScript } from './command-line.js';
import type { CommandOptions, CommandSession, RunOptions, RunResult, StreamResult } from './command-session.js';
import { runCommand, streamCommand } from './remote-command.js';
import type { Arg } from './shell-quote.js';
import type { TarTreeStats } from './tar-writer.js';
import { type UploadFileOptions, type UploadTreeOptions, uploadFile, uploadTree } from './upload.js';

const { Client, utils } = ssh2;

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
}

/** The host key the server presented and that matched a pin. */
export interface AcceptedHostKey {
  keyType: string;
  fingerprint: string;
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

/** A failure of one connection attempt, flagged retryable or not. */
class AttemptFailure extends Error {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A counting semaphore for session channels. */
class ChannelSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free += 1;
    };
  }
}

/** An open, authenticated connection. Create with connectSsh(). */
export class SshConnection implements AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly hostKey: AcceptedHostKey;
  readonly #client: InstanceType<typeof Client>;
  readonly #socket: Socket;
  readonly #logger: Logger;
  readonly #slots: ChannelSlots;
  readonly #lostListeners = new Set<() => void>();
  readonly #forwards = new Set<LocalForward>();
  readonly #running = new Set<() => Promise<void>>();
  readonly #killGraceMs: number;
  readonly #session: CommandSession;
  #lostReason: string | undefined;
  #closing: Promise<void> | undefined;

  /** Use connectSsh(). */
  constructor(init: {
    client: InstanceType<typeof Client>;
    socket: Socket;
    options: SshConnectOptions;
    hostKey: AcceptedHostKey;
  }) {
    const { options } = init;
    this.host = options.host;
    this.port = options.port ?? 22;
    this.username = options.username;
    this.hostKey = init.hostKey;
    this.#client = init.client;
    this.#socket = init.socket;
    this.#logger = options.logger;
    this.#slots = new ChannelSlots(options.maxSessionChannels ?? 8);
    this.#killGraceMs = options.killGraceMs ?? 3000;

    const client = this.#client;
    client.on('error', (error: unknown) => this.#markLost(describeError(error)));
    client.on('end', () => this.#markLost('the server ended the connection'));
    client.on('close', () => this.#markLost('the connection closed'));

    // The narrow interface the command runner uses.
    this.#session = {
      host: this.host,
      port: this.port,
      logger: this.#logger,
      commandTimeoutMs: options.commandTimeoutMs ?? 10 * 60 * 1000,
      killGraceMs: this.#killGraceMs,
      acquireSessionSlot: () => this.#slots.acquire(),
      exec: (line, purpose, callback) => this.#exec(line, purpose, callback),
      runHelper: (line) => this.#runHelper(line),
      track: (stop) => {
        this.#running.add(stop);
        return () => this.#running.delete(stop);
      },
      onLost: (listener) => {
        this.#lostListeners.add(listener);
        return () => this.#lostListeners.delete(listener);
      },
      lostError: (during) => (this.#lostReason !== undefined ? new ConnectionLostError(this.host, this.port, during, this.#lostReason) : undefined),
    };
  }

  /** True once the connection is closed or lost; every later call fails with ConnectionLostError. */
  get closed(): boolean {
    return this.#lostReason !== undefined;
  }

  #markLost(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = reason;
    if (this.#closing === undefined) this.#logger.warning(`SSH connection to ${this.host} port ${this.port} lost: ${reason}`);
    for (const listener of [...this.#lostListeners]) listener();
    this.#lostListeners.clear();
    for (const forward of this.#forwards) void forward.close();
    this.#forwards.clear();
  }

  #lost(during: string): ConnectionLostError | undefined {
    return this.#session.lostError(during);
  }

  #exec(line: string, purpose: string, callback: (error: Error | undefined, channel: ClientChannel | undefined) => void): void {
    const lost = this.#lost(purpose);
    if (lost) {
      callback(lost, undefined);
      return;
    }
    const failed = (detail: string): Error =>
      this.#lost(purpose) ?? new SshError(`Could not open a channel for ${purpose} on ${this.host} port ${this.port}: ${detail}`);
    try {
      this.#client.exec(line, (error, channel) => {
        if (error) callback(failed(error.message), undefined);
        else callback(undefined, channel);
      });
    } catch (error: unknown) {
      callback(failed(describeError(error)), undefined);
    }
  }

  #runHelper(line: string): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.#exec(`PATH=${REMOTE_PATH}; export PATH; ${line}`, 'a helper command', (error, channel) => {
        if (error || !channel) {
          reject(error ?? new SshError('no channel'));
          return;
        }
        let code: number | null = null;
        const record = (exitCode: unknown): void => {
          if (typeof exitCode === 'number') code = exitCode;
        };
        channel.on('exit', record);
        channel.on('error', () => undefined);
        channel.stderr.resume();
        channel.resume();
        channel.once('close', (exitCode: unknown) => {
          record(exitCode);
          resolve(code);
        });
        channel.end();
      });
    });
  }

  /**
   * Runs `command` (an argv array, every argument quoted; or a trusted script) with a fixed PATH,
   * streaming its output to the logger and capturing stdout. Rejects with CommandFailedError on a
   * non-zero exit or a signal, CommandTimeoutError / CommandAbortedError after killing the remote
   * process group, ConnectionLostError if the connection drops.
   */
  run(command: RemoteCommand, options?: RunOptions): Promise<RunResult> {
    return runCommand(this.#session, command, options);
  }

  /** Runs a trusted shell script (`sh -c SCRIPT NAME ARGS...`); `args` are quoted like argv. */
  runScript(script: string, args: readonly Arg[] = [], options: RunOptions & Pick<RemoteScript, 'shell' | 'name'> = {}): Promise<RunResult> {
    const { shell, name, ...rest } = options;
    return runCommand(this.#session, { script, args, ...(shell ? { shell } : {}), ...(name ? { name } : {}) }, rest);
  }

  /** Runs `command` and pipes its stdout into `destination` with backpressure (never held in memory). */
  streamStdout(command: RemoteCommand, destination: Writable, options?: CommandOptions): Promise<StreamResult> {
    return streamCommand(this.#session, command, destination, options);
  }

  /** Writes a local file, a Buffer or a stream to `remotePath` atomically, with the given mode. */
  uploadFile(source: string | Buffer | Readable, remotePath: string, options?: UploadFileOptions): Promise<{ bytes: number; durationMs: number }> {
    return uploadFile(this.#session, source, remotePath, options);
  }

  /** Uploads the tree under `localDir` into `remoteDir` as one tar stream, modes kept. */
  uploadTree(localDir: string, remoteDir: string, options?: UploadTreeOptions): Promise<TarTreeStats & { durationMs: number }> {
    return uploadTree(this.#session, localDir, remoteDir, options);
  }

  /** A TCP connection to `host`:`port` as seen from the remote host (a direct-tcpip channel). */
  openTunnel(host: string, port: number): Promise<Duplex> {
    const target = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const lost = this.#lost(`a tunnel to ${target}`);
      if (lost) {
        reject(lost);
        return;
      }
      try {
        this.#client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
          if (error) reject(this.#lost(`a tunnel to ${target}`) ?? new TunnelError(target, `${this.host} port ${this.port}`, error.message));
          else resolve(channel);
        });
      } catch (error: unknown) {
        reject(this.#lost(`a tunnel to ${target}`) ?? new TunnelError(target, `${this.host} port ${this.port}`, describeError(error)));
      }
    });
  }

  /**
   * Listens on 127.0.0.1 (a free port) and forwards each accepted connection through a tunnel to
   * `host`:`port` as seen from the remote host. Closed by its close() or with this connection.
   */
  async forwardLocal(host: string, port: number): Promise<LocalForward> {
    const lost = this.#lost(`a forward to ${host}:${port}`);
    if (lost) throw lost;
    const forwards = this.#forwards;
    const forward: LocalForward = await startLocalForward({
      openTunnel: () => this.openTunnel(host, port),
      target: `${host}:${port}`,
      logger: this.#logger,
      onClose: () => forwards.delete(forward),
    });
    forwards.add(forward);
    return forward;
  }

  /**
   * Ends everything: commands still running have their remote process groups killed (they reject
   * with CommandAbortedError), forwards and tunnels close, then the connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#running.size > 0 && this.#lostReason === undefined) {
        this.#logger.debug(`stopping ${this.#running.size} remote command(s) before closing`);
        const stops = Promise.allSettled([...this.#running].map((stop) => stop()));
        await Promise.race([stops, sleep(this.#killGraceMs + 5000)]);
      }
      await Promise.all([...this.#forwards].map((forward) => forward.close()));
      await new Promise<void>((resolve) => {
        if (this.#socket.destroyed) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          this.#socket.destroy();
          resolve();
        }, 2000);
        timer.unref();
        this.#socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        this.#markLost('the connection was closed by the caller');
        this.#client.end();
      });
      this.#markLost('the connection was closed by the caller');
      this.#logger.debug(`closed SSH connection to ${this.host} port ${this.port}`);
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function keyError(options: SshConnectOptions, detail: string): SshConfigError {
  // ssh2's messages here are fixed texts ("Bad passphrase", "Unsupported key format"): never key material.
  const reason = detail.replace(/^Cannot parse privateKey: /, '').replace(/\.$/, '');
  return new SshConfigError(`The SSH private key for ${options.username}@${options.host} cannot be used: ${reason}.`);
}

function checkOptions(options: SshConnectOptions): { port: number; policy: HostKeyPolicy } {
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

async function connectOnce(options: SshConnectOptions, port: number, policy: HostKeyPolicy): Promise<SshConnection> {
  const timeoutMs = options.connectTimeoutMs ?? 20_000;
  const started = performance.now();
  const socket = await tcpConnect(options.host, port, timeoutMs);
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
      resolve(new SshConnection({ client, socket, options, hostKey: accepted ?? { keyType: 'unknown', fingerprint: 'unknown' } }));
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
  const { port, policy } = checkOptions(options);
  const logger = options.logger;
  if (policy.ignoredCertAuthorities > 0) {
    logger.warning(`${policy.ignoredCertAuthorities} @cert-authority known_hosts line(s) for ${options.host} ignored: host certificates are not accepted, pin the host's own key.`);
  }
  const attempts = Math.max(1, options.retry?.attempts ?? 4);
  const initialDelay = options.retry?.initialDelayMs ?? 500;
  const maxDelay = options.retry?.maxDelayMs ?? 8000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      logger.debug(`connecting to ${options.username}@${options.host} port ${port} (attempt ${attempt} of ${attempts})`);
      const connection = await connectOnce(options, port, policy);
      logger.info(
        `Connected to ${options.username}@${options.host} port ${port}; host key ${connection.hostKey.keyType} ${connection.hostKey.fingerprint} is pinned.`,
      );
      return connection;
    } catch (error: unknown) {
      if (!(error instanceof AttemptFailure)) throw error;
      if (error.final) throw error.final;
      if (!error.retryable || attempt >= attempts) {
        throw new ConnectError(options.host, port, attempt, error.message, { cause: error });
      }
      const base = Math.min(maxDelay, initialDelay * 2 ** (attempt - 1));
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      logger.info(`Connecting to ${options.host} port ${port} failed (${error.message}); retrying in ${delay} ms.`);
      await sleep(delay);
    }
  }
}
