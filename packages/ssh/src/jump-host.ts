/**
 * A bastion (jump host): the one SSH connection to it, shared by every host reached through it.
 * Its own user, key and pinned host keys (checked exactly as a target's: an unpinned or changed
 * bastion key is refused during key exchange, before anything else is sent anywhere). A host
 * behind it is reached by a direct-tcpip channel (`forwardOut`) from the bastion to the host's
 * address and port, and the host's own SSH connection runs over that channel, its host key pinned
 * as always (connectSsh with `via`, connect.ts).
 *
 * The connection is reference counted: acquire() opens it on first use (concurrent callers wait for
 * the same opening), every lease keeps it open, and the last release closes it. A caller that
 * opens many hosts one after the other (a rolling deploy) holds a lease of its own for the whole
 * run so that they all share ONE bastion connection. Every failure names the bastion
 * (JumpHostError) or, for a forward the bastion refused, the bastion and the host (JumpForwardError).
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '@titan/log/logger';
import { connectSsh, checkConnectOptions, type SshConnectOptions } from './connect.js';
import type { SshConnection } from './connection.js';
import { HostSshError, SshConfigError, SshError, TunnelError, describeError } from './errors.js';
import { parseSshHost } from './host-name.js';

/** The bastion's own connection options (its host, port, user, key, pins); no `via` of its own. */
export type JumpHostOptions = Omit<SshConnectOptions, 'via'>;

/** A failure of the bastion hop itself: unreachable, its host key refused, authentication refused, lost. */
export class JumpHostError extends HostSshError {
  override name = 'JumpHostError';

  constructor(host: string, port: number, detail: string, options?: { cause?: unknown }) {
    super(`The bastion (jump-host) ${host} port ${port} failed: ${detail}`, host, port, options);
  }
}

/** The bastion is up but refused (or failed) to open a channel to a host behind it. */
export class JumpForwardError extends SshError {
  override name = 'JumpForwardError';
  readonly bastion: string;
  readonly target: string;
  /** True when another attempt may help (the host did not accept the connection yet). */
  readonly retryable: boolean;

  constructor(bastion: string, target: string, detail: string, retryable: boolean) {
    super(
      `The bastion (jump-host) ${bastion} refused the forward to ${target}: ${detail}. Check that the host listens there as ` +
        `the bastion sees it and that the bastion's sshd allows TCP forwarding to it (AllowTcpForwarding, PermitOpen).`,
    );
    this.bastion = bastion;
    this.target = target;
    this.retryable = retryable;
  }
}

/** One user's hold on the bastion connection; release() once (later calls do nothing). */
export interface JumpLease {
  /** A channel from the bastion to `host`:`port` (the host as the bastion resolves and reaches it). */
  openTunnel(host: string, port: number, timeoutMs: number): Promise<Duplex>;
  release(): Promise<void>;
}

/** ssh2's CHANNEL_OPEN_FAILURE reason codes (RFC 4254 5.1): 2 is "connect failed". */
const CONNECT_FAILED = 2;

export class JumpHost {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly #options: JumpHostOptions;
  #connection: SshConnection | undefined;
  #opening: Promise<SshConnection> | undefined;
  #leases = 0;
  #opened = 0;

  /** Checks the options at once (host, port, user, key, pins: SshConfigError naming the bastion); connects on first acquire(). */
  constructor(options: JumpHostOptions) {
    const parsed = parseSshHost(options.host);
    if ('problem' in parsed) throw new SshConfigError(`The bastion (jump-host) ${parsed.problem === 'is empty' ? 'is empty' : parsed.problem}.`);
    this.#options = { ...options, host: parsed.host };
    this.host = parsed.host;
    this.port = options.port ?? 22;
    this.username = options.username;
    try {
      checkConnectOptions(this.#options);
    } catch (error: unknown) {
      if (error instanceof SshConfigError) throw new SshConfigError(`The bastion (jump-host) ${this.host} port ${this.port}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  /** `127.0.0.1 port 2290`, as messages name the bastion. */
  get label(): string {
    return `${this.host} port ${this.port}`;
  }

  /** SSH connections opened to the bastion so far (one for a whole run when a lease is held throughout). */
  get connectionsOpened(): number {
    return this.#opened;
  }

  get logger(): Logger {
    return this.#options.logger;
  }

  /** Opens the bastion connection if it is not open (JumpHostError naming the bastion on failure) and holds it. */
  async acquire(): Promise<JumpLease> {
    this.#leases += 1;
    let connection: SshConnection;
    try {
      connection = await this.#connect();
    } catch (error: unknown) {
      this.#leases -= 1;
      throw error;
    }
    let released = false;
    return {
      openTunnel: (host, port, timeoutMs) => this.#tunnel(connection, host, port, timeoutMs),
      release: async () => {
        if (released) return;
        released = true;
        this.#leases -= 1;
        if (this.#leases > 0) return;
        const open = this.#connection;
        this.#connection = undefined;
        this.#opening = undefined;
        await open?.close();
      },
    };
  }

  #connect(): Promise<SshConnection> {
    if (this.#connection !== undefined && !this.#connection.closed) return Promise.resolve(this.#connection);
    if (this.#opening !== undefined && this.#connection === undefined) return this.#opening;
    this.#connection = undefined;
    const opening = this.#open();
    this.#opening = opening;
    // A failed opening is forgotten, so that the next acquire() tries again.
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = undefined;
    });
    return opening;
  }

  async #open(): Promise<SshConnection> {
    try {
      const connection = await connectSsh(this.#options);
      this.#opened += 1;
      this.#connection = connection;
      return connection;
    } catch (error: unknown) {
      if (error instanceof SshConfigError) throw new SshConfigError(`The bastion (jump-host) ${this.label}: ${error.message}`, { cause: error });
      throw new JumpHostError(this.host, this.port, describeError(error), { cause: error });
    }
  }

  async #tunnel(connection: SshConnection, host: string, port: number, timeoutMs: number): Promise<Duplex> {
    const target = `${host} port ${port}`;
    if (connection.closed) throw new JumpHostError(this.host, this.port, `the connection to it was lost before the forward to ${target}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new JumpForwardError(this.label, target, `no answer within ${timeoutMs} ms`, true)), timeoutMs);
    });
    try {
      return await Promise.race([
        connection.openTunnel(host, port).catch((error: unknown) => {
          if (connection.closed) throw new JumpHostError(this.host, this.port, `the connection to it was lost while opening the forward to ${target} (${describeError(error)})`);
          // ssh2's own error (the channel open failure, with its RFC 4254 reason code) is the TunnelError's cause.
          const raw: unknown = error instanceof TunnelError && error.cause !== undefined ? error.cause : error;
          const reason = typeof raw === 'object' && raw !== null && 'reason' in raw ? raw.reason : undefined;
          throw new JumpForwardError(this.label, target, describeError(raw), reason === CONNECT_FAILED);
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
