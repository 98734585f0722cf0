/**
 * The host to connect to, as a user may write it: a DNS name (`titan.example.net`), an IPv4
 * address, or an IPv6 address with or without brackets (`2001:db8::7`, `[2001:db8::7]`). The
 * connection needs the bare address (a bracketed one is not a name the resolver knows, and fails
 * with ENOTFOUND), and known_hosts names it `[addr]:port` (or bare on port 22) either way.
 */
import { isIP } from 'node:net';

/** A DNS name: labels of letters, digits and inner hyphens (and `_`, which some internal zones use). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** The host as the connection takes it (brackets removed), or why it is not a host (a sentence). */
export function parseSshHost(text: string): { host: string } | { problem: string } {
  if (text === '') return { problem: 'is empty' };
  const bracketed = /^\[(.*)\]$/.exec(text);
  const bare = bracketed?.[1] ?? text;
  if (bare.includes(':') || bracketed !== null) {
    if (isIP(bare) === 6) return { host: bare };
    return { problem: `${JSON.stringify(text)} is not an IPv6 address (write one as 2001:db8::7 or [2001:db8::7], without a port: the port is its own input)` };
  }
  if (/^[0-9.]+$/.test(bare)) {
    if (isIP(bare) === 4) return { host: bare };
    return { problem: `${JSON.stringify(text)} is not an IPv4 address` };
  }
  if (HOST_NAME.test(bare)) return { host: bare };
  return { problem: `${JSON.stringify(text)} is not a hostname or an IP address` };
}
