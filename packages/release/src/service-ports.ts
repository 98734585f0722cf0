/**
 * The ports of a release's services as its compose files write them, which is where each port is
 * written once: the port a service listens on is its `PORT` environment value (the services read it;
 * their healthchecks say `$${PORT}`), and the container ports it publishes are its `ports:` targets.
 * The stack profile's health endpoints take their port from there (stack.yml leaves `port` out for
 * a service that sets PORT; a service that sets none, such as nats's monitoring port, writes it in
 * stack.yml), and a port written in both places must agree: sign and the gatekeeper refuse
 * otherwise, as they refuse a health port the service does not publish (verify reaches every
 * health endpoint through the port Docker publishes on the host's loopback).
 */
import type { StackProfileProblem } from './stack-profile.js';

export interface ServicePorts {
  /** The service's PORT environment value (the last compose file that sets it wins); undefined: none, or not a plain number. */
  readonly listens: number | undefined;
  /** The container ports its `ports:` entries publish, from every compose file (undefined: one is interpolated, so not known here). */
  readonly published: readonly number[] | undefined;
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A port number written as a number or a string of digits; undefined for anything else. */
function portNumber(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** The PORT value of one `environment:` section (mapping or `NAME=value` list); null when it does not set it. */
function environmentPort(environment: unknown): unknown {
  if (isMapping(environment)) return Object.hasOwn(environment, 'PORT') ? (environment['PORT'] ?? '') : null;
  if (Array.isArray(environment)) {
    const entry = environment.findLast((e): e is string => typeof e === 'string' && e.startsWith('PORT='));
    return entry === undefined ? null : entry.slice('PORT='.length);
  }
  return null;
}

/** The container ports of one `ports:` entry (short `[IP:][HOST:]TARGET[/PROTO]`, a range, or long syntax); undefined when not known here. */
function targets(entry: unknown): number[] | undefined {
  const target = isMapping(entry) ? entry['target'] : typeof entry === 'number' ? entry : typeof entry === 'string' ? entry.split('/')[0]?.split(':').pop() : undefined;
  const text = typeof target === 'number' ? String(target) : target;
  if (typeof text !== 'string') return undefined;
  const range = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    return from <= to && to - from < 1024 ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : undefined;
  }
  const port = portNumber(text);
  return port === undefined ? undefined : [port];
}

/** Each service's ports, from the parsed compose files in `-f` order. */
export function servicePortsOf(documents: readonly unknown[]): Map<string, ServicePorts> {
  const listens = new Map<string, unknown>();
  const published = new Map<string, number[] | undefined>();
  for (const doc of documents) {
    const services = isMapping(doc) ? doc['services'] : undefined;
    if (!isMapping(services)) continue;
    for (const [name, section] of Object.entries(services)) {
      if (!isMapping(section)) continue;
      const port = environmentPort(section['environment']);
      if (port !== null) listens.set(name, port);
      const before = published.has(name) ? published.get(name) : [];
      const entries = Array.isArray(section['ports']) ? (section['ports'] as unknown[]) : [];
      const found = entries.map(targets);
      published.set(name, before === undefined || found.includes(undefined) ? undefined : [...before, ...found.flatMap((t) => t ?? [])]);
    }
  }
  const out = new Map<string, ServicePorts>();
  for (const name of published.keys()) out.set(name, { listens: portNumber(listens.get(name)), published: published.get(name) });
  return out;
}

/**
 * Fills in, in a parsed stack.yml (`value`), the port of each health endpoint that leaves it out
 * from its service's PORT, and returns every disagreement: a port written in stack.yml that is not
 * the service's PORT, a port neither place writes, a health port the service does not publish.
 */
export function fillHealthPorts(value: unknown, ports: ReadonlyMap<string, ServicePorts>): StackProfileProblem[] {
  const problems: StackProfileProblem[] = [];
  const health = isMapping(value) ? value['health'] : undefined;
  if (!Array.isArray(health)) return problems;
  health.forEach((entry: unknown, i) => {
    if (!isMapping(entry) || typeof entry['service'] !== 'string') return;
    const service = entry['service'];
    const known = ports.get(service);
    if (known === undefined) return;
    const at = ['health', i, 'port'];
    if (entry['port'] === undefined) {
      if (known.listens === undefined) {
        problems.push({ at: ['health', i], problem: `has no port, and ${service} sets no PORT in its compose environment: write the container port its health endpoint listens on (port: N)` });
        return;
      }
      entry['port'] = known.listens;
    } else if (known.listens !== undefined && entry['port'] !== known.listens) {
      problems.push({ at, problem: `is ${JSON.stringify(entry['port'])}, but the compose files set PORT ${known.listens} for ${service}: write the port once, in the compose file, and leave port out here` });
      return;
    }
    const port = entry['port'];
    if (typeof port === 'number' && known.published !== undefined && !known.published.includes(port)) {
      problems.push({
        at: known.listens === undefined ? at : ['health', i, 'service'],
        problem: `${service} does not publish container port ${port} in its compose files (ports: "127.0.0.1:<host port>:${port}"): verify reaches a health endpoint through the port Docker publishes on the host's loopback`,
      });
    }
  });
  return problems;
}
