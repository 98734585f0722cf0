/**
 * Host key pinning: the pins for one host and port (pins as written: host-key-pins.ts), the key
 * algorithms offered for them, and the verdict on the key a server presents. Several pins may
 * name one host (key rotation): any of them is accepted. A key marked `@revoked` is refused even if pinned elsewhere.
 * There is no way to accept an unpinned key.
 */
import { HostKeyMismatchError, SshConfigError } from './errors.js';
import { type HostKeyPin, describeHosts, fingerprintOf, hostMatches, keyTypeOf, knownHostsName, parseHostKeyPins } from './host-key-pins.js';

/** Server host key algorithms ssh2 1.17 negotiates, in its default order. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

export type HostKeyVerdict =
  | { accepted: true; keyType: string; fingerprint: string; pin: string }
  | { accepted: false; error: HostKeyMismatchError };

/** The pins that apply to one host and port, and the check of a presented key against them. */
export class HostKeyPolicy {
  readonly host: string;
  readonly port: number;
  readonly #accepted: HostKeyPin[];
  readonly #revoked: Buffer[];
  /** Number of @cert-authority lines for this host that were ignored (host certificates are not used). */
  readonly ignoredCertAuthorities: number;

  constructor(pins: readonly HostKeyPin[], host: string, port: number) {
    const usable = pins.filter((p) => p.kind === 'fingerprint' || p.marker === 'none');
    if (usable.length === 0) {
      throw new SshConfigError(
        `No host key is pinned for ${host} port ${port}: give the host's known_hosts line(s) or SHA256 ` +
          `fingerprint(s). Connecting to an unpinned host is not possible.`,
      );
    }
    this.host = host;
    this.port = port;
    const name = knownHostsName(host, port);
    const applies = (p: HostKeyPin): boolean => p.kind === 'fingerprint' || hostMatches(p.hosts, name);
    this.#accepted = usable.filter(applies);
    if (this.#accepted.length === 0) {
      const named = [...new Set(usable.map((p) => (p.kind === 'key' ? describeHosts(p.hosts) : '')).filter((d) => d !== ''))];
      throw new SshConfigError(
        `No pin for this host: no known_hosts entry names ${name} (${host} port ${port}); the ${usable.length} pinned key(s) are for ` +
          `${named.join(', ')}. Nothing was sent. Add the host's own line (\`ssh-keyscan -p ${port} ${host}\`, checked out of band), ` +
          `written for ${name}, or its SHA256 fingerprint.`,
      );
    }
    this.#revoked = pins.filter((p) => p.kind === 'key' && p.marker === 'revoked' && applies(p)).map((p) => (p.kind === 'key' ? p.keyBlob : Buffer.alloc(0)));
    this.ignoredCertAuthorities = pins.filter((p) => p.kind === 'key' && p.marker === 'cert-authority' && applies(p)).length;
  }

  /** Parses `entries` (see parseHostKeyPins) and keeps the pins for `host`:`port`. */
  static fromEntries(entries: readonly string[], host: string, port: number): HostKeyPolicy {
    return new HostKeyPolicy(parseHostKeyPins(entries), host, port);
  }

  /** Descriptions of the pins that apply to this host (`ssh-ed25519 SHA256:...`). */
  pinned(): string[] {
    return this.#accepted.map((p) => (p.kind === 'key' ? `${p.keyType} ${p.fingerprint}` : p.fingerprint));
  }

  /**
   * Host key algorithms to offer, pinned key types first so that the server presents a pinned key
   * when it has several (OpenSSH's client does the same with its known_hosts).
   */
  hostKeyAlgorithms(): string[] {
    const preferred: string[] = [];
    for (const pin of this.#accepted) {
      if (pin.kind !== 'key') continue;
      const algorithms = pin.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [pin.keyType];
      for (const a of algorithms) if (!preferred.includes(a)) preferred.push(a);
    }
    return [
      ...preferred.filter((a) => (HOST_KEY_ALGORITHMS as readonly string[]).includes(a)),
      ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a)),
    ];
  }

  /** Checks the raw key blob the server presented. */
  check(keyBlob: Buffer): HostKeyVerdict {
    const keyType = keyTypeOf(keyBlob);
    const fingerprint = fingerprintOf(keyBlob);
    const refuse = (reason: 'not-pinned' | 'revoked'): HostKeyVerdict => ({
      accepted: false,
      error: new HostKeyMismatchError({ host: this.host, port: this.port, keyType, fingerprint, reason, pinned: this.pinned() }),
    });
    if (this.#revoked.some((blob) => blob.equals(keyBlob))) return refuse('revoked');
    for (const pin of this.#accepted) {
      const ok = pin.kind === 'key' ? pin.keyBlob.equals(keyBlob) : pin.fingerprint === fingerprint;
      if (ok) return { accepted: true, keyType, fingerprint, pin: pin.origin };
    }
    return refuse('not-pinned');
  }
}
