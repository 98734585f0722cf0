/**
 * Host key pins as written: known_hosts lines (plain or hashed host names, `[host]:port` forms,
 * comma-separated patterns with `*`/`?` wildcards and `!` negation, `@revoked` markers), bare public
 * keys (`ssh-ed25519 AAAA... comment`, as in a host's `.pub` file) or SHA256 fingerprints
 * (`SHA256:...`, unpadded base64 as `ssh-keygen -lf` prints it), parsed (parseHostKeyPins) and
 * matched against the name a host is known by (knownHostsName). HostKeyPolicy (host-keys.ts) decides.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SshConfigError } from './errors.js';

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

/** `SHA256:` + unpadded base64 of the SHA-256 of the raw key blob, as OpenSSH prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a raw SSH public key blob (its first string), e.g. `ssh-ed25519`. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** The name known_hosts files use for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

export type HostMatcher =
  | { kind: 'any' }
  | { kind: 'patterns'; patterns: readonly string[] }
  | { kind: 'hashed'; salt: Buffer; hash: Buffer };

/** One parsed pin. */
export type HostKeyPin =
  | {
      kind: 'key';
      marker: 'none' | 'revoked' | 'cert-authority';
      hosts: HostMatcher;
      keyType: string;
      keyBlob: Buffer;
      fingerprint: string;
      /** Where the pin came from, for messages: `entry 2 line 1`. */
      origin: string;
    }
  | { kind: 'fingerprint'; fingerprint: string; origin: string };

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) return undefined;
  return bytes;
}

function parseHosts(field: string, origin: string): HostMatcher {
  if (field.startsWith('|')) {
    const parts = field.split('|');
    const salt = parts[2] !== undefined ? decodeBase64Strict(parts[2]) : undefined;
    const hash = parts[3] !== undefined ? decodeBase64Strict(parts[3]) : undefined;
    if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1' || !salt || !hash || hash.length !== 20) {
      throw new SshConfigError(`Host key pin ${origin}: malformed hashed host name (expected |1|salt|hash).`);
    }
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field.split(',').filter((p) => p.length > 0);
  if (patterns.length === 0) throw new SshConfigError(`Host key pin ${origin}: empty host name field.`);
  return { kind: 'patterns', patterns };
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .toLowerCase()
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    's',
  );
  return regex.test(name);
}

export function hostMatches(matcher: HostMatcher, name: string): boolean {
  switch (matcher.kind) {
    case 'any':
      return true;
    case 'hashed': {
      const digest = createHmac('sha1', matcher.salt).update(name).digest();
      return timingSafeEqual(digest, matcher.hash);
    }
    case 'patterns': {
      let positive = false;
      for (const pattern of matcher.patterns) {
        if (pattern.startsWith('!')) {
          if (wildcardMatch(pattern.slice(1), name)) return false;
        } else if (wildcardMatch(pattern, name)) {
          positive = true;
        }
      }
      return positive;
    }
  }
}

/** The hosts a known_hosts line names, for a message (a hashed name cannot be shown). */
export function describeHosts(matcher: HostMatcher): string {
  switch (matcher.kind) {
    case 'any':
      return 'any host';
    case 'hashed':
      return 'a hashed host name';
    case 'patterns':
      return matcher.patterns.join(',');
  }
}

function parseKey(keyType: string, base64: string | undefined, origin: string): Buffer {
  if (!KEY_TYPE.test(keyType)) {
    throw new SshConfigError(`Host key pin ${origin}: unsupported key type "${keyType}".`);
  }
  const blob = base64 !== undefined ? decodeBase64Strict(base64) : undefined;
  if (!blob) throw new SshConfigError(`Host key pin ${origin}: the key is missing or not valid base64.`);
  const embedded = keyTypeOf(blob);
  if (embedded !== keyType) {
    throw new SshConfigError(`Host key pin ${origin}: the key says it is "${embedded}" but the line names "${keyType}".`);
  }
  return blob;
}

/** Parses one pin line (already trimmed, not a comment). */
function parseLine(line: string, origin: string): HostKeyPin {
  if (/^SHA256:/i.test(line)) {
    const value = line.slice('SHA256:'.length).trim().replace(/=+$/, '');
    const digest = decodeBase64Strict(value);
    if (!digest || digest.length !== 32) {
      throw new SshConfigError(`Host key pin ${origin}: "${line}" is not a SHA256 fingerprint (SHA256: and 43 base64 characters).`);
    }
    return { kind: 'fingerprint', fingerprint: `SHA256:${value}`, origin };
  }
  if (/^MD5:/i.test(line) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(line)) {
    throw new SshConfigError(`Host key pin ${origin}: MD5 fingerprints are not accepted; pin the SHA256 fingerprint (ssh-keygen -lf).`);
  }
  const tokens = line.split(/\s+/);
  let marker: 'none' | 'revoked' | 'cert-authority' = 'none';
  if (tokens[0]?.startsWith('@')) {
    const word = tokens.shift();
    if (word === '@revoked') marker = 'revoked';
    else if (word === '@cert-authority') marker = 'cert-authority';
    else throw new SshConfigError(`Host key pin ${origin}: unknown marker "${word}" (known: @revoked, @cert-authority).`);
  }
  const [first, second, third] = tokens;
  if (first === undefined || second === undefined) {
    throw new SshConfigError(
      `Host key pin ${origin}: not a known_hosts line, a public key or a SHA256 fingerprint.`,
    );
  }
  if (marker === 'none' && KEY_TYPE.test(first)) {
    // A bare public key ("ssh-ed25519 AAAA... comment"): pinned for the host being connected to.
    const keyBlob = parseKey(first, second, origin);
    return { kind: 'key', marker, hosts: { kind: 'any' }, keyType: first, keyBlob, fingerprint: fingerprintOf(keyBlob), origin };
  }
  const hosts = parseHosts(first, origin);
  const keyBlob = parseKey(second, third, origin);
  return { kind: 'key', marker, hosts, keyType: second, keyBlob, fingerprint: fingerprintOf(keyBlob), origin };
}

/** Parses pins: each entry may hold several lines (a whole known_hosts file). Throws SshConfigError. */
export function parseHostKeyPins(entries: readonly string[]): HostKeyPin[] {
  const pins: HostKeyPin[] = [];
  entries.forEach((entry, entryIndex) => {
    entry.split(/\r?\n/).forEach((raw, lineIndex) => {
      const line = raw.trim();
      if (line.length === 0 || line.startsWith('#')) return;
      pins.push(parseLine(line, `entry ${entryIndex + 1} line ${lineIndex + 1}`));
    });
  });
  return pins;
}

/** The outcome of checking a presented host key. */
