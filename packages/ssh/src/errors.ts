/**
 * The errors of the SSH transport. Each names what failed and what a user can do about it; none
 * ever carries key material, a passphrase or an argument marked secret.
 */

/** Base class of every error this package throws. */
export class SshError extends Error {
  override name = 'SshError';
}

/** The caller's configuration cannot work (no pinned host key, a malformed pin, a bad key file). */
export class SshConfigError extends SshError {
  override name = 'SshConfigError';
}

/** An error about one host: the host and port it names. */
export abstract class HostSshError extends SshError {
  readonly host: string;
  readonly port: number;

  protected constructor(message: string, host: string, port: number, options?: { cause?: unknown }) {
    super(message, options);
    this.host = host;
    this.port = port;
  }
}

export type HostKeyRefusal = 'not-pinned' | 'revoked';

/**
 * The server presented a host key that is not pinned for it (or one that is pinned as revoked).
 * Thrown during key exchange, before any authentication is attempted.
 */
export class HostKeyMismatchError extends HostSshError {
  override name = 'HostKeyMismatchError';
  /** Key type the server presented, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** SHA256 fingerprint of the key the server presented, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  readonly reason: HostKeyRefusal;
  /** Fingerprints (or descriptions) of the keys pinned for this host. */
  readonly pinned: readonly string[];

  constructor(init: {
    host: string;
    port: number;
    keyType: string;
    fingerprint: string;
    reason: HostKeyRefusal;
    pinned: readonly string[];
  }) {
    const where = `${init.host} port ${init.port}`;
    const seen = `${init.keyType} key ${init.fingerprint}`;
    const pinned = init.pinned.length > 0 ? init.pinned.join(', ') : 'none for this host and port';
    const message =
      init.reason === 'revoked'
        ? `Host key refused for ${where}: the server presented ${seen}, which is marked @revoked in the ` +
          `pinned known_hosts entries. Nothing was sent; no authentication was attempted. Re-key the host ` +
          `and pin its new key.`
        : `Host key refused for ${where}: the server presented ${seen}, which is not pinned for this host ` +
          `(pinned: ${pinned}). Nothing was sent; no authentication was attempted. If the host was ` +
          `legitimately re-keyed, pin the new key (a known_hosts line, or the fingerprint printed by ` +
          `\`ssh-keygen -lf\` on the host's public key file); otherwise treat this as a possible ` +
          `man-in-the-middle.`;
    super(message, init.host, init.port);
    this.keyType = init.keyType;
    this.fingerprint = init.fingerprint;
    this.reason = init.reason;
    this.pinned = init.pinned;
  }
}

/** The server refused every authentication method offered (the key is not authorised). */
export class AuthenticationError extends HostSshError {
  override name = 'AuthenticationError';
  readonly username: string;

  constructor(host: string, port: number, username: string, detail: string) {
    super(
      `Authentication as ${username} on ${host} port ${port} failed (${detail}). Check that the public ` +
        `half of the private key is in ~${username}/.ssh/authorized_keys on the host and that the ` +
        `user is not locked.`,
      host,
      port,
    );
    this.username = username;
  }
}

/** The connection could not be set up (after retries for transient failures). */
export class ConnectError extends HostSshError {
  override name = 'ConnectError';
  readonly attempts: number;

  constructor(host: string, port: number, attempts: number, detail: string, options?: { cause?: unknown }) {
    super(
      `Could not connect to ${host} port ${port} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${detail}`,
      host,
      port,
      options,
    );
    this.attempts = attempts;
  }
}

/** The connection dropped (or was closed) while an operation was in progress. */
export class ConnectionLostError extends HostSshError {
  override name = 'ConnectionLostError';

  constructor(host: string, port: number, during: string, detail?: string) {
    super(
      `Connection to ${host} port ${port} was lost during ${during}${detail ? ` (${detail})` : ''}. ` +
        `The remote side may or may not have finished the work; check the host before retrying.`,
      host,
      port,
    );
  }
}

function stderrSection(stderrTail: string): string {
  const trimmed = stderrTail.replace(/\s+$/, '');
  return trimmed.length > 0 ? `\n--- stderr (last lines) ---\n${trimmed}` : ' (no stderr output)';
}

/** A remote command that did not succeed: the command as shown and the last lines of its stderr. */
export abstract class RemoteCommandError extends SshError {
  /** The command as shown to users: quoted, with secret arguments redacted. */
  readonly command: string;
  readonly stderrTail: string;

  protected constructor(message: string, command: string, stderrTail: string) {
    super(`${message}: ${command}${stderrSection(stderrTail)}`);
    this.command = command;
    this.stderrTail = stderrTail;
  }
}

/** A remote command exited non-zero, was killed by a signal, or ended without an exit status. */
export class CommandFailedError extends RemoteCommandError {
  override name = 'CommandFailedError';
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(init: { command: string; exitCode: number | null; signal: string | null; stderrTail: string }) {
    const how =
      init.signal !== null
        ? `was killed by signal ${init.signal}`
        : init.exitCode !== null
          ? `exited with status ${init.exitCode}`
          : 'ended without reporting an exit status';
    super(`Remote command ${how}`, init.command, init.stderrTail);
    this.exitCode = init.exitCode;
    this.signal = init.signal;
  }
}

/**
 * A remote command ran past its timeout (until its channel closed: a background child holding its
 * output counts); its remote process group was killed.
 */
export class CommandTimeoutError extends RemoteCommandError {
  override name = 'CommandTimeoutError';
  readonly timeoutMs: number;

  constructor(init: { command: string; timeoutMs: number; stderrTail: string; killed: boolean; exited?: number | string | undefined }) {
    const fate = init.killed
      ? 'its remote process group was killed'
      : 'its remote process group could not be confirmed killed';
    const held =
      init.exited === undefined
        ? ''
        : ` (the command itself had ${typeof init.exited === 'number' ? `exited with status ${init.exited}` : `been killed by signal ${init.exited}`}, but a process it started kept its output open)`;
    super(`Remote command timed out after ${init.timeoutMs} ms${held} and ${fate}`, init.command, init.stderrTail);
    this.timeoutMs = init.timeoutMs;
  }
}

/** A remote command was aborted through its AbortSignal; its remote process group was killed. */
export class CommandAbortedError extends RemoteCommandError {
  override name = 'CommandAbortedError';

  constructor(init: { command: string; stderrTail: string; reason: unknown }) {
    const why = init.reason instanceof Error ? init.reason.message : typeof init.reason === 'string' ? init.reason : 'aborted';
    super(`Remote command aborted (${why}); its remote process group was killed`, init.command, init.stderrTail);
  }
}

/** A tunnel (direct-tcpip channel) to an address seen from the remote host could not be opened. */
export class TunnelError extends SshError {
  override name = 'TunnelError';
  readonly target: string;

  constructor(target: string, via: string, detail: string, options?: { cause?: unknown }) {
    super(
      `Could not open a tunnel to ${target} from ${via}: ${detail}. Check that something listens on ` +
        `${target} on that host and that its sshd allows TCP forwarding (AllowTcpForwarding).`,
      options,
    );
    this.target = target;
  }
}

/** A local tree cannot be uploaded as it is (an unsupported file type, a refused symlink, ...). */
export class UploadError extends SshError {
  override name = 'UploadError';
}

/** Renders an unknown thrown value for a message without assuming it is an Error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
