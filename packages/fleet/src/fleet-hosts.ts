/**
 * The hosts of a fleet, as an operator writes them (a YAML list, e.g. the `hosts` input):
 *
 *   - name: eu-1                      # how the summary and every message name the host
 *     address: 203.0.113.10           # DNS name, IPv4 or IPv6 (with or without brackets)
 *     port: 22                        # optional (default: the fleet's port)
 *     user: deploy                    # optional (default: the fleet's user)
 *     known-hosts: |                  # required: this host's own pinned keys, one a line
 *       203.0.113.10 ssh-ed25519 AAAA...
 *     app-dir: /opt/titan             # optional (default: the fleet's app dir)
 *     project: titan                  # optional (default: the fleet's Compose project)
 *
 * Every host has its own pins (a list or a multi-line string of known_hosts lines, bare keys or
 * SHA256: fingerprints); names are unique and so are address:port pairs. Every problem is reported
 * at once, by the host's position and name.
 */
import { parseSshHost } from '@titan/ssh/host-name';
import { parse } from 'yaml';

export interface FleetHost {
  readonly name: string;
  /** The bare address the connection takes (brackets removed). */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** The pinned host keys, one entry a line (comments and blank lines dropped). */
  readonly knownHosts: readonly string[];
  /** This host's application folder and Compose project when they differ from the fleet's. */
  readonly appDir?: string;
  readonly project?: string;
}

/** The fleet's defaults, and packages/host's rules for an app dir and a project (a sentence, or undefined). */
export interface FleetHostDefaults {
  readonly port: number;
  readonly user: string;
  readonly appDirProblem?: (dir: string) => string | undefined;
  readonly projectProblem?: (project: string) => string | undefined;
}

export class FleetHostsError extends Error {
  override readonly name = 'FleetHostsError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`The hosts list has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const USER = /^[a-z_][a-z0-9_-]*[$]?$/;
const KEYS = new Set(['name', 'address', 'port', 'user', 'known-hosts', 'app-dir', 'project']);

export function parseFleetHosts(text: string, defaults: FleetHostDefaults): FleetHost[] {
  let value: unknown;
  try {
    value = parse(text);
  } catch (error: unknown) {
    throw new FleetHostsError([`it is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`]);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new FleetHostsError(['it must be a YAML list of hosts (`- name: ..., address: ..., known-hosts: ...`), with at least one host']);
  }
  const problems: string[] = [];
  const hosts: FleetHost[] = [];
  value.forEach((entry: unknown, index) => {
    const host = parseEntry(entry, `host ${index + 1}`, defaults, problems);
    if (host !== undefined) hosts.push(host);
  });
  const names = new Set<string>();
  const endpoints = new Set<string>();
  for (const host of hosts) {
    if (names.has(host.name)) problems.push(`the name ${host.name} is used twice: names must be unique`);
    names.add(host.name);
    const endpoint = `${host.address}:${host.port}`;
    if (endpoints.has(endpoint)) problems.push(`${host.name}: ${endpoint} is listed twice: one entry per host`);
    endpoints.add(endpoint);
  }
  if (problems.length > 0) throw new FleetHostsError(problems);
  return hosts;
}

function parseEntry(entry: unknown, where: string, defaults: FleetHostDefaults, problems: string[]): FleetHost | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    problems.push(`${where} is not a mapping (name, address, port, user, known-hosts)`);
    return undefined;
  }
  const fields = entry as Record<string, unknown>;
  const name = typeof fields['name'] === 'string' ? fields['name'] : undefined;
  const label = name !== undefined && NAME.test(name) ? `${where} (${name})` : where;
  const before = problems.length;
  for (const key of Object.keys(fields)) if (!KEYS.has(key)) problems.push(`${label}: unknown key ${JSON.stringify(key)} (expected ${[...KEYS].join(', ')})`);
  if (name === undefined || !NAME.test(name)) problems.push(`${label}: name must be letters, digits, '.', '_' or '-' (up to 63), got ${JSON.stringify(fields['name'] ?? null)}`);
  const addressText = fields['address'];
  const parsed = typeof addressText === 'string' ? parseSshHost(addressText) : { problem: 'is missing' };
  if ('problem' in parsed) problems.push(`${label}: address ${parsed.problem}`);
  const port = fields['port'] === undefined ? defaults.port : fields['port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) problems.push(`${label}: port must be an integer from 1 to 65535`);
  const user = fields['user'] === undefined ? defaults.user : fields['user'];
  if (typeof user !== 'string' || !USER.test(user)) problems.push(`${label}: user must be a user name (${USER.source})`);
  const knownHosts = pinsOf(fields['known-hosts']);
  if (knownHosts.length === 0) problems.push(`${label}: known-hosts is required: this host's own pinned key (a known_hosts line, the bare key or its SHA256: fingerprint)`);
  const appDir = optionalText(fields['app-dir'], `${label}: app-dir`, defaults.appDirProblem, problems);
  const project = optionalText(fields['project'], `${label}: project`, defaults.projectProblem, problems);
  if (problems.length > before || 'problem' in parsed) return undefined;
  return { name: name as string, address: parsed.host, port: port as number, user: user as string, knownHosts, ...(appDir !== undefined ? { appDir } : {}), ...(project !== undefined ? { project } : {}) };
}

function optionalText(value: unknown, where: string, rule: ((text: string) => string | undefined) | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    problems.push(`${where} must be a non-empty string`);
    return undefined;
  }
  const problem = rule?.(value);
  if (problem !== undefined) problems.push(`${where} ${JSON.stringify(value)} is not usable: ${problem}`);
  return value;
}

function pinsOf(value: unknown): string[] {
  const lines = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? value.split('\n') : [];
  return lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}
