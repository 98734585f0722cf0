/**
 * Where NATS listens, as the HOST sees it (the runner reaches it through the SSH connection, never
 * directly): `127.0.0.1:4222`, `nats://127.0.0.1:4222`, `localhost`, `[::1]:4222`. Port 4222 when
 * none is given. Only plain `nats://` (no TLS, no credentials in the URL: the user and password are
 * separate, masked inputs).
 */
export interface NatsAddress {
  readonly host: string;
  readonly port: number;
}

const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

/** Parses a NATS address; returns why it cannot be one as a string. */
export function parseNatsAddress(text: string): NatsAddress | string {
  let rest = text.trim();
  if (/^[a-z]+:\/\//i.test(rest)) {
    if (!rest.toLowerCase().startsWith('nats://')) return `only nats:// is supported, got ${JSON.stringify(text)}`;
    rest = rest.slice('nats://'.length);
  }
  rest = rest.replace(/\/$/, '');
  if (rest.includes('@')) return 'put no user or password in the URL: use the nats-user and nats-password inputs';
  let host = rest;
  let port = 4222;
  const match = /^(.*):(\d{1,5})$/.exec(rest);
  if (match?.[1] !== undefined && match[2] !== undefined && !(match[1].includes(':') && !match[1].startsWith('['))) {
    host = match[1];
    port = Number(match[2]);
  }
  if (!HOST_PATTERN.test(host)) return `${JSON.stringify(text)} is not HOST[:PORT] (for example 127.0.0.1:4222)`;
  if (port < 1 || port > 65535) return `port ${port} is not a TCP port`;
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

export function formatNatsAddress(address: NatsAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
