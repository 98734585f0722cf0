/**
 * The stack profile: everything deploy, verify and rollback know about the stack they run. It is
 * written in the release source (stack.yml, see stack-profile-file.ts), checked against the compose
 * services there, and signed into manifest.json as its `stack` member, so a host, a verifier and a
 * rollback read it from the verified manifest and no library code names a service.
 *
 * - groups: the services deploy and rollback stop, in stop order (each group stops before the next;
 *   Compose starts them again). `trading` groups are what a `stop` halts and what an operator's halt
 *   keeps stopped; the others (an operator surface) stay up during a `stop`.
 * - infrastructure: every other service (databases, messaging, proxies); kept running by a deploy.
 * - health: the endpoints verify GETs (container port, path, and what the JSON body must say).
 * - policyReporters: services whose /health must report the manifest's policy hash.
 * - database: the service, database and role migrations run against.
 * - halt: the NATS subject of the HARD_HALT and the one service whose acknowledgement counts.
 * - critical: services whose build inputs weigh most in a release's risk (matrix).
 * Every service of the release is in exactly one group or in infrastructure.
 */
import { SERVICE_NAME_PATTERN } from './image-reference.js';

/** `status`: `{"status":"ok"}`; `status-and-service`: also names the service it was asked about. */
export type HealthBody = 'status' | 'status-and-service';
export const HEALTH_BODIES: readonly HealthBody[] = ['status', 'status-and-service'];

export interface StackGroup {
  readonly name: string;
  readonly trading: boolean;
  readonly services: readonly string[];
}

export interface StackHealthEndpoint {
  readonly service: string;
  /** The port the service listens on inside its container. */
  readonly port: number;
  readonly path: string;
  readonly body: HealthBody;
}

export interface StackProfile {
  readonly groups: readonly StackGroup[];
  readonly infrastructure: readonly string[];
  readonly health: readonly StackHealthEndpoint[];
  readonly policyReporters: readonly string[];
  readonly database: { readonly service: string; readonly name: string; readonly user: string };
  readonly halt: { readonly subject: string; readonly responder: string };
  readonly critical: readonly string[];
}

/** One thing wrong with a profile: where (a path of keys and indexes) and what. */
export interface StackProfileProblem {
  readonly at: readonly (string | number)[];
  readonly problem: string;
}

export class StackProfileError extends Error {
  override readonly name = 'StackProfileError';

  readonly problems: readonly StackProfileProblem[];
  constructor(prefix: string, problems: readonly StackProfileProblem[]) {
    super(`${prefix}${problems.map((p) => `${formatAt(p.at)}: ${p.problem}`).join('; ')}`);
    this.problems = problems;
  }
}

export const NATS_SUBJECT_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const GROUP_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const HEALTH_PATH_PATTERN = /^\/[A-Za-z0-9._~/-]{0,200}$/;
const MEMBERS = ['critical', 'database', 'groups', 'halt', 'health', 'infrastructure', 'policyReporters'];

/** `stack.groups[1].services[0]`-style wording of a problem's place. */
export function formatAt(at: readonly (string | number)[]): string {
  return at.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`), '');
}

/**
 * Checks a parsed value (from stack.yml or manifest.json) and returns every problem found, or the
 * profile. `services`, when given, are the release's services: the profile must name only those, and
 * every one of them must be in a group or in infrastructure.
 */
export function checkStackProfile(value: unknown, services?: readonly string[]): StackProfile | StackProfileProblem[] {
  const problems: StackProfileProblem[] = [];
  const say = (at: readonly (string | number)[], problem: string): void => void problems.push({ at, problem });
  const root = mapping(value, [], MEMBERS, say);
  if (root === undefined) return problems;

  const groups = list(root['groups'], ['groups'], say).map((entry, i): StackGroup => {
    const group = mapping(entry, ['groups', i], ['name', 'services', 'trading'], say) ?? {};
    const name = text(group['name'], ['groups', i, 'name'], GROUP_NAME_PATTERN, say);
    if (typeof group['trading'] !== 'boolean') say(['groups', i, 'trading'], 'must be true or false');
    return { name, trading: group['trading'] === true, services: names(group['services'], ['groups', i, 'services'], say, true) };
  });
  if (groups.length === 0) say(['groups'], 'must list at least one group of services to stop in order');
  if (!groups.some((g) => g.trading)) say(['groups'], 'no group is trading: say which services a stop halts (trading: true)');
  const infrastructure = names(root['infrastructure'], ['infrastructure'], say, false);
  const health = list(root['health'], ['health'], say).map((entry, i): StackHealthEndpoint => {
    const at = ['health', i];
    const endpoint = mapping(entry, at, ['body', 'path', 'port', 'service'], say) ?? {};
    const port = endpoint['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) say([...at, 'port'], 'must be a port number, 1 to 65535');
    const body = endpoint['body'];
    if (!HEALTH_BODIES.includes(body as HealthBody)) say([...at, 'body'], `must be one of ${HEALTH_BODIES.join(', ')}`);
    return {
      service: text(endpoint['service'], [...at, 'service'], SERVICE_NAME_PATTERN, say),
      port: typeof port === 'number' ? port : 0,
      path: text(endpoint['path'], [...at, 'path'], HEALTH_PATH_PATTERN, say),
      body: body as HealthBody,
    };
  });
  const policyReporters = names(root['policyReporters'], ['policyReporters'], say, false);
  const databaseValue = mapping(root['database'], ['database'], ['name', 'service', 'user'], say) ?? {};
  const database = {
    service: text(databaseValue['service'], ['database', 'service'], SERVICE_NAME_PATTERN, say),
    name: text(databaseValue['name'], ['database', 'name'], DATABASE_NAME_PATTERN, say),
    user: text(databaseValue['user'], ['database', 'user'], DATABASE_NAME_PATTERN, say),
  };
  const haltValue = mapping(root['halt'], ['halt'], ['responder', 'subject'], say) ?? {};
  const halt = {
    subject: text(haltValue['subject'], ['halt', 'subject'], NATS_SUBJECT_PATTERN, say),
    responder: text(haltValue['responder'], ['halt', 'responder'], SERVICE_NAME_PATTERN, say),
  };
  const critical = names(root['critical'], ['critical'], say, false);
  const profile: StackProfile = { groups, infrastructure, health, policyReporters, database, halt, critical };
  if (problems.length === 0) crossCheck(profile, services, say);
  return problems.length === 0 ? profile : problems;
}

function crossCheck(profile: StackProfile, services: readonly string[] | undefined, say: (at: readonly (string | number)[], problem: string) => void): void {
  const placed = new Map<string, string>();
  const known = new Set(services ?? []);
  const place = (service: string, where: string, at: readonly (string | number)[]): void => {
    const before = placed.get(service);
    if (before !== undefined) say(at, `${service} is already in ${before}: each service is in one group or in infrastructure`);
    else placed.set(service, where);
    if (services !== undefined && !known.has(service)) say(at, `${service} is not a service of the release`);
  };
  profile.groups.forEach((g, i) => {
    if (profile.groups.findIndex((o) => o.name === g.name) !== i) say(['groups', i, 'name'], `group ${g.name} is named twice`);
    g.services.forEach((s, j) => place(s, `group ${g.name}`, ['groups', i, 'services', j]));
  });
  profile.infrastructure.forEach((s, j) => place(s, 'infrastructure', ['infrastructure', j]));
  if (services === undefined) for (const service of placed.keys()) known.add(service);
  const unknown = (service: string, at: readonly (string | number)[]): void => {
    if (!known.has(service)) say(at, `${service} is not a service of the release`);
  };
  for (const service of services ?? []) {
    if (!placed.has(service)) say(['infrastructure'], `service ${service} is in no group and not in infrastructure: say where it belongs`);
  }
  const endpoints = new Set<string>();
  profile.health.forEach((h, i) => {
    unknown(h.service, ['health', i, 'service']);
    if (endpoints.has(h.service)) say(['health', i, 'service'], `${h.service} has a second health endpoint`);
    endpoints.add(h.service);
  });
  profile.policyReporters.forEach((s, i) => {
    if (!endpoints.has(s)) say(['policyReporters', i], `${s} reports the policy hash on its health endpoint, but has none in health`);
  });
  profile.critical.forEach((s, i) => unknown(s, ['critical', i]));
  if (!profile.infrastructure.includes(profile.database.service)) say(['database', 'service'], `${profile.database.service} is not in infrastructure`);
  const trading = tradingServices(profile);
  if (!trading.includes(profile.halt.responder)) say(['halt', 'responder'], `${profile.halt.responder} is not in a trading group: the halt responder is the service that stops trading`);
}

/** Every grouped service, group by group, in stop order. */
export function groupedServices(profile: StackProfile): readonly string[] {
  return profile.groups.flatMap((g) => g.services);
}

/** The services of the trading groups: what `stop` halts and what an operator's halt keeps stopped. */
export function tradingServices(profile: StackProfile): readonly string[] {
  return profile.groups.filter((g) => g.trading).flatMap((g) => g.services);
}

/** The services of the other groups (an operator surface): a `stop` leaves them running. */
export function operatorServices(profile: StackProfile): readonly string[] {
  return profile.groups.filter((g) => !g.trading).flatMap((g) => g.services);
}

type Say = (at: readonly (string | number)[], problem: string) => void;

function mapping(value: unknown, at: readonly (string | number)[], members: readonly string[], say: Say): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    say(at, `must be a mapping of ${members.join(', ')}`);
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const missing = members.filter((m) => !Object.hasOwn(record, m));
  if (missing.length > 0) say(at, `missing ${missing.join(', ')}`);
  for (const key of Object.keys(record).filter((k) => !members.includes(k))) say([...at, key], `is not a member (expected ${members.join(', ')})`);
  return record;
}

function list(value: unknown, at: readonly (string | number)[], say: Say): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    say(at, 'must be a list');
    return [];
  }
  return value as unknown[];
}

function text(value: unknown, at: readonly (string | number)[], pattern: RegExp, say: Say): string {
  if (value === undefined) return '';
  if (typeof value !== 'string' || !pattern.test(value)) {
    say(at, `${JSON.stringify(value)} does not match ${pattern.source}`);
    return '';
  }
  return value;
}

function names(value: unknown, at: readonly (string | number)[], say: Say, nonEmpty: boolean): string[] {
  const entries = list(value, at, say).map((entry, i) => text(entry, [...at, i], SERVICE_NAME_PATTERN, say));
  if (nonEmpty && entries.length === 0 && value !== undefined) say(at, 'must name at least one service');
  entries.forEach((s, i) => {
    if (entries.indexOf(s) !== i) say([...at, i], `${s} is listed twice`);
  });
  return entries;
}
