/**
 * One SSH connection to one host, host key pinned (open it with connectSsh, connect.ts). Every
 * command, upload and tunnel is a channel on this one connection; at most maxSessionChannels
 * command channels run at once (channel-slots.ts), the others wait their turn. A connection lost
 * (an error, the server's end, a close) fails every command running and every later call with
 * ConnectionLostError.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplex, Readable, Writable } from 'node:stream';
import type ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '@titan/log/logger';
import { ChannelSlots } from './channel-slots.js';
import type { RemoteCommand, RemoteScript } from './command-line.js';
import type { CommandOptions, CommandSession, RunOptions, RunResult, StreamResult } from './command-session.js';
import type { AcceptedHostKey, SshConnectOptions } from './connect.js';
import { ConnectionLostError, SshError, TunnelError, describeError } from './errors.js';
import { runHelperCommand } from './helper-command.js';
import { type LocalForward, startLocalForward } from './local-forward.js';
import { runCommand, streamCommand } from './remote-command.js';
import type { Arg } from './shell-quote.js';
import type { TarTreeStats } from './tar-writer.js';
import { type UploadFileOptions, type UploadTreeOptions, uploadFile, uploadTree } from './upload.js';

/** An open, authenticated connection. Create with connectSsh(). */
export class SshConnection implements AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly hostKey: AcceptedHostKey;
  readonly #client: ssh2.Client;
  /** The TCP socket, or the bastion's channel to the host (connect.ts `via`). */
  readonly #socket: Duplex;
  readonly #onClosed: (() => Promise<void>) | undefined;
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
    client: ssh2.Client;
    socket: Duplex;
    options: SshConnectOptions;
    hostKey: AcceptedHostKey;
    /** Called once the connection is closed (a bastion lease is released there). */
    onClosed?: () => Promise<void>;
  }) {
    const { options } = init;
    this.host = options.host;
    this.port = options.port ?? 22;
    this.username = options.username;
    this.hostKey = init.hostKey;
    this.#client = init.client;
    this.#socket = init.socket;
    this.#onClosed = init.onClosed;
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
      runHelper: (line) => runHelperCommand((command, purpose, callback) => this.#exec(command, purpose, callback), line),
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
          if (error) reject(this.#lost(`a tunnel to ${target}`) ?? new TunnelError(target, `${this.host} port ${this.port}`, error.message, { cause: error }));
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
        // Unreferenced: once the commands have stopped, this wait must not keep the process alive.
        await Promise.race([stops, sleep(this.#killGraceMs + 5000, undefined, { ref: false })]);
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
      await this.#onClosed?.();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
