/**
 * Where NATS listens, as the HOST sees it (the runner reaches it through the SSH connection, never
 * directly): `127.0.0.1:4222`, `nats://127.0.0.1:4222`, `localhost`, `[::1]:4222`. Port 4222 when
 * none is given. Only plain `nats://` (no TLS, no credentials in the URL: the user and password are
 * separate, masked inputs). No message here repeats the text: a URL may carry a password
 * (`nats://user:pass@host`) or a token, and what is refused must not be printed.
 */
export interface NatsAddress {
  readonly host: string;
  readonly port: number;
}

const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

/** Parses a NATS address; returns why it cannot be one as a string. */
export function parseNatsAddress(text: string): NatsAddress | string {
  let rest = text.trim();
  if (hasCredentials(rest)) return 'it holds a user, password or token (user:pass@...): give only HOST[:PORT], and the credentials as nats-user and nats-password';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    if (!rest.toLowerCase().startsWith('nats://')) return `only nats:// is supported (no TLS, no other scheme), got ${rest.slice(0, rest.indexOf(':'))}://`;
    rest = rest.slice('nats://'.length);
  }
  rest = rest.replace(/\/$/, '');
  let host = rest;
  let port = 4222;
  const match = /^(.*):(\d{1,5})$/.exec(rest);
  if (match?.[1] !== undefined && match[2] !== undefined && !(match[1].includes(':') && !match[1].startsWith('['))) {
    host = match[1];
    port = Number(match[2]);
  }
  if (!HOST_PATTERN.test(host)) return 'it is not HOST[:PORT] (for example 127.0.0.1:4222 or nats://127.0.0.1:4222)';
  if (port < 1 || port > 65535) return `port ${port} is not a TCP port`;
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/** A user, password or token in the text (userinfo before `@`, or a query or fragment). */
export function hasCredentials(text: string): boolean {
  return /[@?#]/.test(text);
}

/** The secret parts of a URL with credentials (userinfo, its password, query and fragment values), to mask. */
export function credentialParts(text: string): string[] {
  const parts = new Set<string>([text]);
  const afterScheme = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = afterScheme.lastIndexOf('@');
  if (at > 0) {
    const userinfo = afterScheme.slice(0, at);
    parts.add(userinfo);
    if (userinfo.includes(':')) parts.add(userinfo.slice(userinfo.indexOf(':') + 1));
  }
  for (const piece of afterScheme.split(/[?#&]/).slice(1)) {
    parts.add(piece);
    if (piece.includes('=')) parts.add(piece.slice(piece.indexOf('=') + 1));
  }
  return [...parts].filter((p) => p.length >= 4);
}

export function formatNatsAddress(address: NatsAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
