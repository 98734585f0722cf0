import { interpolate } from './compose-interpolation.js';
import { scalarText, valueOf, type LocatedNode, type Place } from './located-yaml.js';

/**
 * One `ports:` entry of a service, short (`[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]`) or long
 * (`{target, published, host_ip, protocol}`) syntax, after interpolation. Every entry publishes on
 * the host: one without a published port gets an ephemeral one, one without a host address listens
 * on every interface.
 */
export interface PublishedPort extends Place {
  /** The address the host listens on; undefined means every interface (0.0.0.0 / ::). */
  hostIp: string | undefined;
  published: string | undefined;
  target: string;
  protocol: string;
  /** Variables in the entry with no known value and no default. */
  unresolved: string[];
}

export function parsePortEntry(node: LocatedNode, values: ReadonlyMap<string, string>): PublishedPort {
  const place = { file: node.file, line: node.line };
  if (node.kind === 'map') {
    const field = (key: string) => {
      const text = scalarText(valueOf(node, key));
      return text === undefined ? undefined : interpolate(text, values);
    };
    const target = field('target');
    const published = field('published');
    const hostIp = field('host_ip');
    const protocol = field('protocol');
    return {
      ...place,
      hostIp: emptyToUndefined(hostIp?.text),
      published: emptyToUndefined(published?.text),
      target: target?.text ?? '',
      protocol: protocol?.text ?? 'tcp',
      unresolved: [target, published, hostIp, protocol].flatMap((f) => f?.unresolved ?? []),
    };
  }
  const raw = node.kind === 'scalar' && node.value !== null ? String(node.value) : '';
  const { text, unresolved } = interpolate(raw, values);
  return { ...place, ...parseShortSyntax(text), unresolved };
}

function parseShortSyntax(text: string): Pick<PublishedPort, 'hostIp' | 'published' | 'target' | 'protocol'> {
  let rest = text.trim();
  let protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    hostIp = rest.slice(1, close < 0 ? undefined : close);
    rest = close < 0 ? '' : rest.slice(close + 1).replace(/^:/, '');
  }
  const parts = rest.split(':');
  if (hostIp === undefined && parts.length >= 3) {
    hostIp = parts.slice(0, parts.length - 2).join(':');
    parts.splice(0, parts.length - 2);
  }
  const target = parts[parts.length - 1] ?? '';
  const published = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  return { hostIp: emptyToUndefined(hostIp), published: emptyToUndefined(published), target, protocol };
}

function emptyToUndefined(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

export type AddressScope = 'loopback' | 'private' | 'all' | 'public';

/** Where a host address listens: loopback, a private (VPC) range, every interface, or a public address. */
export function addressScope(hostIp: string | undefined): AddressScope {
  if (hostIp === undefined || hostIp === '0.0.0.0' || hostIp === '::' || hostIp === '*') return 'all';
  const v4 = hostIp.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 127) return 'loopback';
    if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
    return 'public';
  }
  const v6 = hostIp.toLowerCase();
  if (v6 === '::1') return 'loopback';
  if (/^f[cd][0-9a-f]{2}:/.test(v6)) return 'private';
  return 'public';
}

/** The key Compose merges `ports` entries on: {host ip, published, target, protocol}. */
export function portMergeKey(port: PublishedPort): string {
  return [port.hostIp ?? '', port.published ?? '', port.target, port.protocol].join('|');
}
